//! Faults a test can switch on at run time: which requests they hit and what they do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// What a fault applies to. The first four are single endpoints; `Keycloak` and `Keystone`
/// are whole servers. A request gets the fault of its endpoint if one is set, else that of
/// its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Keycloak's OIDC discovery documents.
    Discovery,
    /// Keycloak's token endpoint (password and refresh grants).
    KeycloakToken,
    /// Keystone's `OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`.
    FederationAuth,
    /// Keystone's `/v3/auth/tokens` (scope, validate, revoke).
    KeystoneTokens,
    /// Every Keycloak endpoint.
    Keycloak,
    /// Every Keystone endpoint.
    Keystone,
}

/// What a faulty endpoint does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally, after this long.
    Delay(Duration),
    /// Answer with this status and an error body shaped like the real server's.
    Status(u16),
    /// Close the connection without answering.
    Drop,
    /// Stop accepting connections (a connect gets "connection refused") until cleared. A
    /// listener is all or nothing: refusing an endpoint refuses its whole server.
    Refuse,
}

/// The two servers, one listener each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Server {
    Keycloak,
    Keystone,
}

impl Target {
    pub(crate) fn server(self) -> Server {
        match self {
            Self::Discovery | Self::KeycloakToken | Self::Keycloak => Server::Keycloak,
            Self::FederationAuth | Self::KeystoneTokens | Self::Keystone => Server::Keystone,
        }
    }

    fn whole(server: Server) -> Self {
        match server {
            Server::Keycloak => Self::Keycloak,
            Server::Keystone => Self::Keystone,
        }
    }

    /// The endpoint target of a request path, if it is one of the four.
    fn endpoint(server: Server, path: &str) -> Option<Self> {
        let path = path.trim_end_matches('/');
        match server {
            Server::Keycloak if path.ends_with("/.well-known/openid-configuration") => {
                Some(Self::Discovery)
            }
            Server::Keycloak if path.ends_with("/protocol/openid-connect/token") => {
                Some(Self::KeycloakToken)
            }
            Server::Keystone if path.contains("/OS-FEDERATION/") && path.ends_with("/auth") => {
                Some(Self::FederationAuth)
            }
            Server::Keystone if path.ends_with("/v3/auth/tokens") => Some(Self::KeystoneTokens),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct FaultTable(Mutex<HashMap<Target, Fault>>);

impl FaultTable {
    pub(crate) fn set(&self, target: Target, fault: Option<Fault>) {
        let mut table = self.lock();
        match fault {
            Some(fault) => table.insert(target, fault),
            None => table.remove(&target),
        };
    }

    /// The fault for a request to `path` on `server`. The simulator's own `/_sim/` paths
    /// are never faulty, so a script can always read the counters.
    pub(crate) fn for_request(&self, server: Server, path: &str) -> Option<Fault> {
        if path.starts_with("/_sim/") {
            return None;
        }
        let table = self.lock();
        Target::endpoint(server, path)
            .and_then(|target| table.get(&target))
            .or_else(|| table.get(&Target::whole(server)))
            .copied()
    }

    /// Whether any target of `server` asks for its listener to be closed.
    pub(crate) fn refuses(&self, server: Server) -> bool {
        self.lock()
            .iter()
            .any(|(target, fault)| target.server() == server && *fault == Fault::Refuse)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Target, Fault>> {
        self.0
            .lock()
            .expect("the fault table lock is never poisoned")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Fault, FaultTable, Server, Target};

    #[test]
    fn endpoint_fault_wins_over_server_fault() {
        let faults = FaultTable::default();
        faults.set(Target::Keystone, Some(Fault::Status(503)));
        faults.set(Target::FederationAuth, Some(Fault::Drop));
        let federation = "/identity/v3/OS-FEDERATION/identity_providers/k/protocols/openid/auth";
        assert_eq!(
            faults.for_request(Server::Keystone, federation),
            Some(Fault::Drop)
        );
        assert_eq!(
            faults.for_request(Server::Keystone, "/identity/v3/auth/tokens"),
            Some(Fault::Status(503))
        );
        assert_eq!(
            faults.for_request(
                Server::Keycloak,
                "/realms/pod/protocol/openid-connect/token"
            ),
            None
        );
    }

    #[test]
    fn classifies_keycloak_paths_and_spares_sim_paths() {
        let faults = FaultTable::default();
        faults.set(
            Target::Discovery,
            Some(Fault::Delay(Duration::from_secs(1))),
        );
        faults.set(Target::Keycloak, Some(Fault::Drop));
        let discovery = "/realms/pod/.well-known/openid-configuration";
        assert_eq!(
            faults.for_request(Server::Keycloak, discovery),
            Some(Fault::Delay(Duration::from_secs(1)))
        );
        assert_eq!(faults.for_request(Server::Keycloak, "/_sim/counters"), None);
        faults.set(Target::Keycloak, None);
        assert_eq!(
            faults.for_request(
                Server::Keycloak,
                "/realms/pod/protocol/openid-connect/certs"
            ),
            None
        );
    }

    #[test]
    fn refuse_is_per_server() {
        let faults = FaultTable::default();
        faults.set(Target::KeycloakToken, Some(Fault::Refuse));
        assert!(faults.refuses(Server::Keycloak));
        assert!(!faults.refuses(Server::Keystone));
        faults.set(Target::KeycloakToken, None);
        assert!(!faults.refuses(Server::Keycloak));
    }
}
