//! Keycloak: per-realm OIDC discovery document, JWKS, and the token endpoint
//! ([`token`]: password and refresh grants).
//!
//! Only what a CLI login touches is simulated; status codes and error bodies are Keycloak's
//! own (checked against its sources: `TokenEndpoint`, `ClientIdAndSecretAuthenticator`,
//! `ResourceOwnerPasswordCredentialsGrantType`, `AuthenticationProcessor`).

mod token;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use opcp_cred_proto::Secret;
use serde_json::{Value, json};

use super::State;
use super::counters::Counter;
use super::fixture::{ClientSpec, RealmSpec, UserSpec};
use super::jwt::RealmKey;

/// Every realm, and the login sessions their refresh tokens point to.
#[derive(Debug)]
pub(crate) struct Realms {
    by_name: HashMap<String, Realm>,
    /// Session id (the `sid` claim) to its session.
    sessions: Mutex<HashMap<String, token::Session>>,
}

#[derive(Debug)]
pub(crate) struct Realm {
    name: String,
    issuer: String,
    key: RealmKey,
    /// Mutable for password rotation.
    users: Mutex<HashMap<String, UserSpec>>,
    clients: HashMap<String, ClientSpec>,
}

impl Realms {
    /// Builds the realms; `base_url` is the Keycloak listener's URL, the issuers' prefix.
    pub(crate) fn new(specs: &[RealmSpec], base_url: &str) -> anyhow::Result<Self> {
        let mut by_name = HashMap::new();
        for spec in specs {
            let realm = Realm {
                name: spec.name.clone(),
                issuer: format!("{base_url}/realms/{}", spec.name),
                key: RealmKey::for_realm(&spec.name)?,
                users: Mutex::new(
                    spec.users
                        .iter()
                        .map(|user| (user.username.clone(), user.clone()))
                        .collect(),
                ),
                clients: spec
                    .clients
                    .iter()
                    .map(|client| (client.client_id.clone(), client.clone()))
                    .collect(),
            };
            by_name.insert(spec.name.clone(), realm);
        }
        Ok(Self {
            by_name,
            sessions: Mutex::default(),
        })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Realm> {
        self.by_name.get(name)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Realm> {
        self.by_name.values()
    }

    /// Changes a user's password; false when the realm or the user does not exist.
    pub(crate) fn set_password(&self, realm: &str, username: &str, password: Secret) -> bool {
        let Some(realm) = self.get(realm) else {
            return false;
        };
        let mut users = realm
            .users
            .lock()
            .expect("the users lock is never poisoned");
        users
            .get_mut(username)
            .map(|user| user.password = password)
            .is_some()
    }
}

impl Realm {
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn key(&self) -> &RealmKey {
        &self.key
    }

    fn user(&self, username: &str) -> Option<UserSpec> {
        let users = self.users.lock().expect("the users lock is never poisoned");
        users.get(username).cloned()
    }
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/realms/{realm}/protocol/openid-connect/certs", get(certs))
        .route(
            "/realms/{realm}/protocol/openid-connect/token",
            post(token::token),
        )
        .route("/_sim/counters", get(counters))
        .with_state(state)
}

async fn discovery(AxumState(state): AxumState<Arc<State>>, Path(realm): Path<String>) -> Response {
    let Some(realm) = state.keycloak.get(&realm) else {
        return realm_not_found();
    };
    state.counters.bump(Counter::Discovery);
    Json(discovery_document(&realm.issuer)).into_response()
}

fn discovery_document(issuer: &str) -> Value {
    let oidc = format!("{issuer}/protocol/openid-connect");
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "introspection_endpoint": format!("{oidc}/token/introspect"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "end_session_endpoint": format!("{oidc}/logout"),
        "revocation_endpoint": format!("{oidc}/revoke"),
        "jwks_uri": format!("{oidc}/certs"),
        "grant_types_supported": [
            "authorization_code", "implicit", "refresh_token", "password", "client_credentials",
            "urn:openid:params:grant-type:ciba", "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "response_types_supported": [
            "code", "none", "id_token", "token", "id_token token", "code id_token",
            "code token", "code id_token token"
        ],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth",
            "client_secret_jwt"
        ],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "aud", "sub", "iss", "auth_time", "name", "given_name", "family_name",
            "preferred_username", "email", "acr"
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
    })
}

async fn certs(AxumState(state): AxumState<Arc<State>>, Path(realm): Path<String>) -> Response {
    let Some(realm) = state.keycloak.get(&realm) else {
        return realm_not_found();
    };
    state.counters.bump(Counter::Jwks);
    Json(json!({ "keys": [realm.key.jwk()] })).into_response()
}

async fn counters(AxumState(state): AxumState<Arc<State>>) -> Response {
    Json(state.counters.snapshot()).into_response()
}

/// Keycloak's OAuth error reply: `{"error": "…", "error_description": "…"}`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: &'static str,
}

impl OAuthError {
    pub(crate) const fn new(
        status: StatusCode,
        error: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            status,
            error,
            description,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let headers = [(header::CACHE_CONTROL, "no-store")];
        (self.status, headers, Json(body)).into_response()
    }
}

fn realm_not_found() -> Response {
    let body = json!({ "error": "Realm does not exist" });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// The reply to a `Status` fault, shaped like Keycloak's errors.
pub(crate) fn status_fault(status: StatusCode) -> Response {
    let error = match status {
        StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        status if status.is_client_error() => "invalid_request",
        _ => "server_error",
    };
    OAuthError::new(status, error, status.canonical_reason().unwrap_or("error")).into_response()
}
