//! Keystone v3: federation auth, project scope, project list, revocation.
//!
//! Every URL comes from [`AuthUrl::join`]. Tokens travel in [`Secret`]s and in headers marked
//! sensitive; Keystone's error texts are quoted with the tokens sent masked ([`http::quote`]).

use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::{Project, ProjectSelector, Timestamp};
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::auth_url::AuthUrl;
use crate::clock::{self, Lifetime};
use crate::http::{self, Answer};

mod error;
#[cfg(test)]
mod tests;

pub use error::{KeystoneError, describe};

const KEYSTONE: &str = "keystone";

/// The project a token is scoped to: the same shape as a listed project.
pub type ProjectRef = Project;

/// A token Keystone issued, with what the broker needs to know about it.
#[derive(Debug, Clone)]
pub struct KeystoneToken {
    pub token: Secret,
    pub expires_at: Timestamp,
    /// How long it lives from now, as Keystone counts (`expires_at` minus its `Date`).
    pub lifetime: Lifetime,
    /// `None` for an unscoped token.
    pub project: Option<ProjectRef>,
    /// Entries in the service catalog (0 for an unscoped token).
    pub catalog_services: usize,
}

/// Trades a Keycloak access token for an unscoped Keystone token:
/// `POST …/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`.
pub async fn federated_auth(
    http: &reqwest::Client,
    auth_url: &AuthUrl,
    identity_provider: &str,
    protocol: &str,
    access_token: &Secret,
) -> Result<KeystoneToken, KeystoneError> {
    let url = federation_url(auth_url, identity_provider, protocol);
    let request = http.post(&url).bearer_auth(access_token.expose());
    let answer = http::send(KEYSTONE, &url, request).await?;
    let message = || error::upstream_message(&answer, &[access_token]);
    let names = || (identity_provider.to_owned(), protocol.to_owned());
    match answer.status {
        status if status.is_success() => token_from(&answer, &url),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let (idp, protocol) = names();
            Err(KeystoneError::FederationRejected {
                idp,
                protocol,
                message: message(),
            })
        }
        // Keystone says which identity provider it lacks; a 404 without its error body comes
        // from whatever else `auth_url` leads to (a typo in the path, a web server).
        StatusCode::NOT_FOUND => match message() {
            Some(message) => {
                let (idp, protocol) = names();
                Err(KeystoneError::UnknownIdentityProvider {
                    idp,
                    protocol,
                    message: Some(message),
                })
            }
            None => Err(KeystoneError::NoFederationApi { url }),
        },
        _ => Err(KeystoneError::unexpected(&url, &answer, &[access_token])),
    }
}

fn federation_url(auth_url: &AuthUrl, identity_provider: &str, protocol: &str) -> String {
    let mut url = url::Url::parse(&auth_url.join("OS-FEDERATION/identity_providers"))
        .expect("an AuthUrl joined with a path is a valid URL");
    // Pushed as segments so that odd names are percent-encoded, never path syntax.
    url.path_segments_mut()
        .expect("an http(s) URL has a path")
        .extend([identity_provider, "protocols", protocol, "auth"]);
    url.into()
}

/// `GET <auth_url>`: Keystone's version document, unauthenticated. The answer as it came:
/// `doctor` wants to know whether the TLS handshake works and what time Keystone says it is.
pub async fn probe(http: &reqwest::Client, auth_url: &AuthUrl) -> Result<Answer, http::SendError> {
    let url = auth_url.as_str();
    http::send(KEYSTONE, url, http.get(url)).await
}

/// Scopes `unscoped` to `project`: `POST auth/tokens` with methods `["token"]`.
/// `claimed_projects` (the access token's `projects` claim) only words a refusal.
pub async fn scope(
    http: &reqwest::Client,
    auth_url: &AuthUrl,
    unscoped: &Secret,
    project: &ProjectSelector,
    claimed_projects: Option<&[String]>,
) -> Result<KeystoneToken, KeystoneError> {
    let url = auth_url.join("auth/tokens");
    let body = json!({ "auth": {
        "identity": { "methods": ["token"], "token": { "id": unscoped.expose() } },
        "scope": { "project": project_scope(project) },
    }});
    let answer = http::send(KEYSTONE, &url, http.post(&url).json(&body)).await?;
    let message = || error::upstream_message(&answer, &[unscoped]);
    match answer.status {
        status if status.is_success() => token_from(&answer, &url),
        // Keystone answers 401 for a project that does not exist as for one that is not
        // allowed, so both read "not authorised".
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(KeystoneError::ProjectForbidden {
            project: error::describe(project),
            message: message(),
            claimed: claimed_projects.map(<[String]>::to_vec),
        }),
        // "Could not find token": the unscoped token expired or was revoked.
        StatusCode::NOT_FOUND => Err(KeystoneError::TokenRejected {
            url,
            message: message(),
        }),
        _ => Err(KeystoneError::unexpected(&url, &answer, &[unscoped])),
    }
}

fn project_scope(project: &ProjectSelector) -> serde_json::Value {
    match project {
        ProjectSelector::Id { id } => json!({ "id": id }),
        ProjectSelector::Name { name, domain_name } => {
            json!({ "name": name, "domain": { "name": domain_name } })
        }
    }
}

/// The projects `token` may be scoped to: `GET auth/projects`.
pub async fn projects(
    http: &reqwest::Client,
    auth_url: &AuthUrl,
    token: &Secret,
) -> Result<Vec<Project>, KeystoneError> {
    #[derive(Deserialize)]
    struct Projects {
        projects: Vec<Project>,
    }

    let url = auth_url.join("auth/projects");
    let request = http.get(&url).header("x-auth-token", auth_header(token)?);
    let answer = http::send(KEYSTONE, &url, request).await?;
    match answer.status {
        status if status.is_success() => serde_json::from_slice::<Projects>(&answer.body)
            .map(|list| list.projects)
            .map_err(|_| {
                KeystoneError::bad_answer(&url, &answer, "a body that is not a project list")
            }),
        StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND => Err(KeystoneError::TokenRejected {
            message: error::upstream_message(&answer, &[token]),
            url,
        }),
        _ => Err(KeystoneError::unexpected(&url, &answer, &[token])),
    }
}

/// Revokes `token` with itself: `DELETE auth/tokens`. A token Keystone no longer knows (404)
/// or no longer accepts as credentials (401, expired) is already unusable: that is success.
pub async fn revoke(
    http: &reqwest::Client,
    auth_url: &AuthUrl,
    token: &Secret,
) -> Result<(), KeystoneError> {
    let url = auth_url.join("auth/tokens");
    let value = auth_header(token)?;
    let request = http
        .delete(&url)
        .header("x-auth-token", value.clone())
        .header("x-subject-token", value);
    let answer = http::send(KEYSTONE, &url, request).await?;
    let gone = matches!(
        answer.status,
        StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED
    );
    if answer.status.is_success() || gone {
        Ok(())
    } else {
        Err(KeystoneError::unexpected(&url, &answer, &[token]))
    }
}

fn auth_header(token: &Secret) -> Result<HeaderValue, KeystoneError> {
    http::secret_header(token).map_err(|_| KeystoneError::MalformedToken)
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenDoc,
}

#[derive(Deserialize)]
struct TokenDoc {
    expires_at: Timestamp,
    #[serde(default)]
    project: Option<ProjectDoc>,
    #[serde(default)]
    catalog: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct ProjectDoc {
    id: String,
    name: String,
    #[serde(default)]
    domain: Option<DomainDoc>,
}

#[derive(Deserialize)]
struct DomainDoc {
    id: String,
}

/// A 2xx answer carrying a token: `X-Subject-Token` plus `{"token": {...}}`.
fn token_from(answer: &Answer, url: &str) -> Result<KeystoneToken, KeystoneError> {
    let token = answer
        .headers
        .get("x-subject-token")
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .map(Secret::new)
        .ok_or_else(|| KeystoneError::bad_answer(url, answer, "no X-Subject-Token header"))?;
    let body: TokenBody = serde_json::from_slice(&answer.body)
        .map_err(|_| KeystoneError::bad_answer(url, answer, "a body that is not a token"))?;
    let doc = body.token;
    let server_now = http::server_date(&answer.headers);
    Ok(KeystoneToken {
        token,
        expires_at: doc.expires_at,
        lifetime: Lifetime::starting_now(clock::server_lifetime(doc.expires_at.0, server_now)),
        project: doc.project.map(|p| ProjectRef {
            id: p.id,
            name: p.name,
            domain_id: p.domain.map(|d| d.id),
        }),
        catalog_services: doc.catalog.len(),
    })
}
