//! Keystone tokens: what each id stands for, revocation, and the `{"token": {…}}` body.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};

use crate::sim::RescopeExpiry;
use crate::sim::clock::iso8601;
use crate::sim::fixture::{DOMAIN_ID, DOMAIN_NAME, ProjectSpec};
use crate::sim::ids;

/// The ephemeral user a federated login maps to.
#[derive(Clone, Debug)]
pub(crate) struct FederatedUser {
    /// A SHA-256 hex digest, as Keystone makes for federated users.
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) idp: String,
    pub(crate) protocol: String,
    /// The `projects` claim of the JWT that made the first token of the chain: the
    /// projects this user may scope to.
    pub(crate) allowed_projects: Vec<String>,
    /// The groups the mapping put the user in: one per claimed project that exists (an OPCP
    /// mapping turns each claim value into a group holding a role on that project).
    pub(crate) group_ids: Vec<String>,
}

/// Why a token id cannot be used, in Keystone's words (a 404 `TokenNotFound`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    Missing,
    /// Not a token this Keystone's keys made.
    Unknown,
    /// Revoked or expired.
    Invalid,
}

impl Unusable {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Missing => "No token in the request",
            Self::Unknown => "Could not recognize Fernet token",
            Self::Invalid => "Failed to validate token",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TokenRecord {
    pub(crate) user: FederatedUser,
    pub(crate) project: Option<ProjectSpec>,
    pub(crate) methods: Vec<String>,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    /// This token's audit id alone: Keystone records no chain when it rescopes a federated
    /// token (`mapped.handle_scoped_token` passes no audit id on).
    pub(crate) audit_ids: Vec<String>,
}

impl TokenRecord {
    /// The unscoped token of a federated login.
    pub(crate) fn federated(user: FederatedUser, now: i64, lifetime: i64) -> Self {
        Self {
            methods: vec![user.protocol.clone()],
            user,
            project: None,
            issued_at: now,
            expires_at: now + lifetime,
            audit_ids: vec![ids::urlsafe(16)],
        }
    }

    /// A token made from this one (`methods: ["token"]`), scoped to `project` or unscoped.
    pub(crate) fn rescoped(
        &self,
        project: Option<ProjectSpec>,
        now: i64,
        lifetime: i64,
        policy: RescopeExpiry,
    ) -> Self {
        // A set in Keystone (its order varies between processes): the source's, then "token".
        let mut methods = self.methods.clone();
        if !methods.iter().any(|m| m == "token") {
            methods.push("token".to_owned());
        }
        let expires_at = match policy {
            RescopeExpiry::KeepSource => self.expires_at,
            RescopeExpiry::Fresh => now + lifetime,
        };
        Self {
            user: self.user.clone(),
            project,
            methods,
            issued_at: now,
            expires_at,
            audit_ids: vec![ids::urlsafe(16)],
        }
    }

    /// Whether the user's claim lists the project, by id or by name.
    pub(crate) fn allows(&self, project: &ProjectSpec) -> bool {
        self.user
            .allowed_projects
            .iter()
            .any(|allowed| *allowed == project.id || *allowed == project.name)
    }
}

#[derive(Debug)]
struct Entry {
    record: TokenRecord,
    revoked: bool,
}

/// Every token Keystone issued, by id.
#[derive(Debug, Default)]
pub(crate) struct TokenStore(Mutex<HashMap<String, Entry>>);

impl TokenStore {
    /// Stores `record` under a new id and returns the id.
    pub(crate) fn insert(&self, record: TokenRecord) -> String {
        let id = ids::fernet_like();
        let entry = Entry {
            record,
            revoked: false,
        };
        self.lock().insert(id.clone(), entry);
        id
    }

    /// The token, if it exists, is not revoked and has not expired at `now`.
    pub(crate) fn valid(&self, id: &str, now: i64) -> Option<TokenRecord> {
        self.lookup(id, now).ok()
    }

    /// The token, or why Keystone would not accept it.
    pub(crate) fn lookup(&self, id: &str, now: i64) -> Result<TokenRecord, Unusable> {
        if id.is_empty() {
            return Err(Unusable::Missing);
        }
        let tokens = self.lock();
        let entry = tokens.get(id).ok_or(Unusable::Unknown)?;
        if entry.revoked || entry.record.expires_at <= now {
            return Err(Unusable::Invalid);
        }
        Ok(entry.record.clone())
    }

    /// Revokes one token. Keystone's `DELETE /v3/auth/tokens` revokes by the token's own
    /// audit id (`revoke_by_audit_id`, not the chain), so tokens scoped from it live on.
    pub(crate) fn revoke(&self, id: &str) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.revoked = true;
        }
    }

    pub(crate) fn is_revoked(&self, id: &str) -> bool {
        self.lock().get(id).is_some_and(|entry| entry.revoked)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.0
            .lock()
            .expect("the token store lock is never poisoned")
    }
}

/// The `{"token": {…}}` body; `base` is Keystone's URL as the client reached it.
pub(crate) fn render(record: &TokenRecord, base: &str, with_catalog: bool) -> Value {
    let user = &record.user;
    let groups: Vec<Value> = user
        .group_ids
        .iter()
        .map(|id| json!({ "id": id }))
        .collect();
    // The user lives in the identity provider's domain, which Keystone made with the
    // provider (its name is its id); a federated user has no password, so no expiry of it.
    let domain = idp_domain(&user.idp);
    let mut token = json!({
        "methods": record.methods,
        "user": {
            "domain": { "id": domain, "name": domain },
            "id": user.id,
            "name": user.name,
            "OS-FEDERATION": {
                "groups": groups,
                "identity_provider": { "id": user.idp },
                "protocol": { "id": user.protocol },
            },
        },
        "audit_ids": record.audit_ids,
        "expires_at": iso8601(record.expires_at),
        "issued_at": iso8601(record.issued_at),
    });
    if let Some(project) = &record.project {
        token["project"] = project_ref(project);
        token["is_domain"] = false.into();
        // `member` on the project through the group, and `reader`, which it implies.
        token["roles"] = json!([role("reader"), role("member")]);
        if with_catalog {
            token["catalog"] = catalog(base);
        }
    }
    json!({ "token": token })
}

/// A role as `keystone-manage bootstrap` makes it.
fn role(name: &str) -> Value {
    json!({
        "id": ids::stable_hex(&["role", name]),
        "name": name,
        "domain_id": null,
        "description": null,
        "options": { "immutable": true },
    })
}

/// The domain Keystone made for the identity provider `idp`.
fn idp_domain(idp: &str) -> String {
    ids::stable_hex(&["domain", idp])
}

fn project_ref(project: &ProjectSpec) -> Value {
    json!({
        "id": project.id,
        "name": project.name,
        "domain": { "id": project.domain_id, "name": domain_name(&project.domain_id) },
    })
}

pub(crate) fn domain_name(domain_id: &str) -> &str {
    if domain_id == DOMAIN_ID {
        DOMAIN_NAME
    } else {
        domain_id
    }
}

/// Identity (this Keystone) and a compute service whose URL nothing listens on.
fn catalog(base: &str) -> Value {
    json!([
        service("identity", "keystone", &format!("{base}/v3")),
        service("compute", "nova", "http://127.0.0.1:9/compute/v2.1"),
    ])
}

fn service(kind: &str, name: &str, url: &str) -> Value {
    let endpoints: Vec<Value> = ["public", "internal", "admin"]
        .into_iter()
        .map(|interface| {
            json!({
                "id": ids::stable_hex(&[kind, interface]),
                "interface": interface,
                "region": "RegionOne",
                "region_id": "RegionOne",
                "url": url,
            })
        })
        .collect();
    json!({
        "endpoints": endpoints,
        "id": ids::stable_hex(&[kind]),
        "type": kind,
        "name": name,
    })
}

#[cfg(test)]
mod tests {
    use super::{FederatedUser, TokenRecord, TokenStore, Unusable, render};
    use crate::sim::RescopeExpiry;
    use crate::sim::fixture::{PROJECT_WEB_ID, projects};

    fn user() -> FederatedUser {
        FederatedUser {
            id: "u".into(),
            name: "alice".into(),
            idp: "keycloak".into(),
            protocol: "openid".into(),
            allowed_projects: vec![PROJECT_WEB_ID.into()],
            group_ids: vec!["g".into()],
        }
    }

    #[test]
    fn rescoping_keeps_or_renews_expiry() {
        let unscoped = TokenRecord::federated(user(), 1000, 3600);
        let web = projects().into_iter().next();
        let kept = unscoped.rescoped(web.clone(), 2000, 3600, RescopeExpiry::KeepSource);
        assert_eq!(kept.expires_at, 4600);
        assert_eq!(kept.audit_ids.len(), 1);
        assert_ne!(kept.audit_ids, unscoped.audit_ids);
        assert_eq!(kept.methods, ["openid", "token"]);
        assert_eq!(
            kept.rescoped(None, 2001, 3600, RescopeExpiry::KeepSource)
                .methods,
            kept.methods
        );
        let fresh = unscoped.rescoped(web, 2000, 3600, RescopeExpiry::Fresh);
        assert_eq!(fresh.expires_at, 5600);
        assert_eq!(fresh.audit_ids.len(), 1);
    }

    #[test]
    fn store_validates_expires_and_revokes() {
        let store = TokenStore::default();
        let id = store.insert(TokenRecord::federated(user(), 1000, 10));
        assert!(store.valid(&id, 1009).is_some());
        assert!(store.valid(&id, 1010).is_none());
        assert!(store.valid("nope", 1000).is_none());
        assert_eq!(store.lookup("nope", 1000).err(), Some(Unusable::Unknown));
        assert_eq!(store.lookup("", 1000).err(), Some(Unusable::Missing));
        assert_eq!(store.lookup(&id, 1010).err(), Some(Unusable::Invalid));
        store.revoke(&id);
        assert!(store.is_revoked(&id));
        assert_eq!(store.lookup(&id, 1000).err(), Some(Unusable::Invalid));
    }

    #[test]
    fn renders_scoped_tokens_with_catalog() {
        let web = projects().into_iter().next();
        let scoped =
            TokenRecord::federated(user(), 0, 60).rescoped(web, 0, 60, RescopeExpiry::Fresh);
        let body = render(&scoped, "http://127.0.0.1:1/identity", true);
        let token = &body["token"];
        assert_eq!(token["project"]["domain"]["name"], "Default");
        assert_eq!(
            token["user"]["domain"]["id"],
            token["user"]["domain"]["name"]
        );
        assert!(token["user"].get("password_expires_at").is_none());
        assert_eq!(token["roles"][1]["options"]["immutable"], true);
        assert_eq!(token["expires_at"], "1970-01-01T00:01:00.000000Z");
        let identity = &token["catalog"][0];
        assert_eq!(identity["type"], "identity");
        assert_eq!(
            identity["endpoints"][0]["url"],
            "http://127.0.0.1:1/identity/v3"
        );
        let unscoped = render(&TokenRecord::federated(user(), 0, 60), "x", true);
        assert!(unscoped["token"].get("catalog").is_none());
    }
}
