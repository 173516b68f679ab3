//! A wire-faithful Keycloak + Keystone simulator for the end-to-end tests and the demo.
//!
//! [`Sim::start`] binds two listeners on 127.0.0.1 (like two hosts), spawns their servers on
//! the current tokio runtime and returns; dropping the [`Sim`] stops them.
//!
//! - [`keycloak`]: realms with their own RS256 key; discovery, JWKS, and the token endpoint
//!   (password and refresh grants, both client authentication styles, Keycloak's errors).
//! - [`keystone`]: version discovery, OIDC federation login, scoping, validation,
//!   revocation and `/v3/auth/projects`, all under an optional path prefix.
//! - [`fixture`]: the default realms, users, clients and projects, and their constants.
//! - [`faults`]: per-endpoint delays, error statuses, dropped connections, refused ports.
//! - [`server`]: listeners, TLS, the accept loop and fault injection; [`tls`] makes the CA.
//! - [`counters`], [`clock`] (a settable "now"), [`jwt`], [`ids`]: the small pieces.

mod clock;
mod counters;
mod faults;
pub mod fixture;
mod ids;
mod jwt;
mod keycloak;
mod keystone;
mod openrc;
mod server;
mod tls;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opcp_cred_proto::Secret;
use tokio::sync::watch;

pub use self::counters::Counters;
pub use self::faults::{Fault, Target};
use self::faults::{FaultTable, Server};
use self::fixture::{IdpSpec, ProjectSpec, RealmSpec};
use self::server::{App, Listener};

/// What the simulated cloud looks like.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Path Keystone is served under: "" for the root, or e.g. "/identity".
    pub keystone_prefix: String,
    /// Serve both listeners over HTTPS with a certificate from a CA made at start.
    pub tls: bool,
    /// Keycloak access tokens (`expires_in`).
    pub access_token_lifetime: Duration,
    /// Keycloak refresh tokens (`refresh_expires_in`): the SSO session idle timeout.
    pub refresh_token_lifetime: Duration,
    /// Keycloak's "SSO Session Max": no refresh token outlives its login by more than this,
    /// however often it is refreshed (Keycloak's default: 10 hours).
    pub session_max_lifetime: Duration,
    /// Keystone tokens (`[token] expiration`).
    pub keystone_token_lifetime: Duration,
    /// The `expires_at` of a token made by rescoping another.
    pub rescope_expiry: RescopeExpiry,
    /// Ports to listen on; 0 picks a free one.
    pub keycloak_port: u16,
    pub keystone_port: u16,
    pub realms: Vec<RealmSpec>,
    pub projects: Vec<ProjectSpec>,
    pub identity_providers: Vec<IdpSpec>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            keystone_prefix: String::new(),
            tls: false,
            access_token_lifetime: Duration::from_secs(300),
            refresh_token_lifetime: Duration::from_secs(1800),
            session_max_lifetime: Duration::from_secs(10 * 60 * 60),
            keystone_token_lifetime: Duration::from_secs(3600),
            rescope_expiry: RescopeExpiry::KeepSource,
            keycloak_port: 0,
            keystone_port: 0,
            realms: fixture::realms(),
            projects: fixture::projects(),
            identity_providers: fixture::identity_providers(),
        }
    }
}

/// How Keystone sets the expiry of a token obtained with `methods: ["token"]`.
///
/// For a federated source token Keystone calls `mapped.handle_scoped_token`. Since the
/// security fix released in keystone 27.1.0, 28.1.0 and 29.0.0 (and in every later release)
/// it keeps the source's `expires_at` "to prevent users from indefinitely extending their
/// session by repeatedly rescoping"; older releases (26.x, 27.0.0, 28.0.0) set none, so the
/// new token got a full `[token] expiration` from now. Either way it records no audit chain.
/// tests/tests/sim_fidelity.rs checks the default against the real Keystone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RescopeExpiry {
    /// The new token expires with its source (current Keystone; the default).
    #[default]
    KeepSource,
    /// The new token lives a full Keystone token lifetime (Keystone before the fix).
    Fresh,
}

/// Token lifetimes in seconds.
#[derive(Debug)]
struct Lifetimes {
    access: i64,
    refresh: i64,
    session_max: i64,
    keystone: i64,
}

/// Everything the handlers share.
#[derive(Debug)]
struct State {
    /// "http" or "https".
    scheme: &'static str,
    keystone_addr: SocketAddr,
    clock: clock::Clock,
    counters: counters::AtomicCounters,
    faults: FaultTable,
    lifetimes: Lifetimes,
    keycloak: keycloak::Realms,
    keystone: keystone::Keystone,
}

/// A running simulator. Dropping it stops both servers and closes their connections.
pub struct Sim {
    state: Arc<State>,
    keycloak: Arc<Listener>,
    keystone: Arc<Listener>,
    keycloak_url: String,
    keystone_url: String,
    ca_pem: Option<String>,
    /// Dropping the sender tells every accept loop and connection to stop.
    _shutdown: watch::Sender<()>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("keycloak_url", &self.keycloak_url)
            .field("keystone_url", &self.keystone_url)
            .field("tls", &self.ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// Binds both listeners and spawns the servers on the current tokio runtime. The
    /// servers accept connections as soon as this returns.
    pub async fn start(config: SimConfig) -> anyhow::Result<Sim> {
        let keycloak = Listener::bind(config.keycloak_port)?;
        let keystone = Listener::bind(config.keystone_port)?;
        let scheme = if config.tls { "https" } else { "http" };
        let keycloak_url = format!("{scheme}://{}", keycloak.addr());
        let prefix = normalise_prefix(&config.keystone_prefix);
        let keystone_url = format!("{scheme}://{}{prefix}", keystone.addr());
        let tls = config.tls.then(tls::generate).transpose()?;

        // RSA key generation is CPU-bound: keep it off the async worker.
        let (base, keystone_addr) = (keycloak_url.clone(), keystone.addr());
        let state = tokio::task::spawn_blocking(move || {
            State::new(&config, scheme, &base, keystone_addr, prefix)
        })
        .await??;
        let state = Arc::new(state);

        let (shutdown, stopped) = watch::channel(());
        let acceptor = tls.as_ref().map(|tls| tls.acceptor.clone());
        for (listener, server) in [(&keycloak, Server::Keycloak), (&keystone, Server::Keystone)] {
            let app = App::new(server, state.clone());
            server::spawn(listener.clone(), app, acceptor.clone(), stopped.clone());
        }
        Ok(Sim {
            state,
            keycloak,
            keystone,
            keycloak_url,
            keystone_url,
            ca_pem: tls.map(|tls| tls.ca_pem),
            _shutdown: shutdown,
        })
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS).
    pub fn keycloak_url(&self) -> String {
        self.keycloak_url.clone()
    }

    /// The `iss` of `realm`'s tokens: what a Keystone identity provider lists as remote id.
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.keycloak_url)
    }

    /// The OIDC discovery document of `realm`.
    pub fn discovery_url(&self, realm: &str) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer(realm))
    }

    /// `http://127.0.0.1:PORT{prefix}`, without `/v3`.
    pub fn keystone_url(&self) -> String {
        self.keystone_url.clone()
    }

    pub fn counters(&self) -> Counters {
        self.state.counters.snapshot()
    }

    pub fn reset_counters(&self) {
        self.state.counters.reset();
    }

    /// Sets (`Some`) or clears (`None`) the fault of `target`. A `Refuse` takes effect
    /// before this returns (connects are refused), and so does clearing it.
    pub fn set_fault(&self, target: Target, fault: Option<Fault>) {
        self.state.faults.set(target, fault);
        for (listener, server) in [
            (&self.keycloak, Server::Keycloak),
            (&self.keystone, Server::Keystone),
        ] {
            if self.state.faults.refuses(server) {
                listener.refuse();
            } else {
                listener
                    .resume()
                    .expect("reopen the simulator's port after clearing a Refuse fault");
            }
        }
    }

    /// Rotates a user's password. Panics if the realm or the user does not exist.
    pub fn set_password(&self, realm: &str, user: &str, password: &str) {
        let changed = self
            .state
            .keycloak
            .set_password(realm, user, Secret::new(password));
        assert!(changed, "set_password: no user {user:?} in realm {realm:?}");
    }

    /// Moves the simulator's clock by `offset_secs` from the real time (every `exp`,
    /// `expires_at` and `Date` header follows).
    pub fn set_clock_offset(&self, offset_secs: i64) {
        self.state.clock.set_offset(offset_secs);
    }

    /// The CA certificate (PEM) clients must trust, when TLS is on.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Revoke a token as an administrator would (`DELETE /v3/auth/tokens` with their token).
    pub fn revoke(&self, token: &str) {
        self.state.keystone.tokens.revoke(token);
    }

    /// Whether Keystone revoked this token (`DELETE /v3/auth/tokens`).
    pub fn is_revoked(&self, token: &str) -> bool {
        self.state.keystone.tokens.is_revoked(token)
    }
}

impl State {
    fn new(
        config: &SimConfig,
        scheme: &'static str,
        keycloak_url: &str,
        keystone_addr: SocketAddr,
        prefix: String,
    ) -> anyhow::Result<Self> {
        let secs = |lifetime: Duration| i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        Ok(Self {
            scheme,
            keystone_addr,
            clock: clock::Clock::default(),
            counters: counters::AtomicCounters::default(),
            faults: FaultTable::default(),
            lifetimes: Lifetimes {
                access: secs(config.access_token_lifetime),
                refresh: secs(config.refresh_token_lifetime),
                session_max: secs(config.session_max_lifetime),
                keystone: secs(config.keystone_token_lifetime),
            },
            keycloak: keycloak::Realms::new(&config.realms, keycloak_url)?,
            keystone: keystone::Keystone {
                prefix,
                projects: config.projects.clone(),
                idps: config.identity_providers.clone(),
                tokens: keystone::TokenStore::default(),
                rescope_expiry: config.rescope_expiry,
            },
        })
    }
}

/// "", "/" → ""; "identity", "/identity/" → "/identity".
fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod flow_tests;
