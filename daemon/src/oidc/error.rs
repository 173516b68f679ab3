//! Keycloak's answers, as errors a person can act on.
//!
//! | Keycloak says                                   | variant                | kind                |
//! |------------------------------------------------|------------------------|---------------------|
//! | `invalid_client` or `unauthorized_client` (401) | `ClientRejected`      | ClientRejected      |
//! | `unauthorized_client` (400) on a password grant | `DirectGrantsDisabled` | ClientRejected     |
//! | `invalid_grant` "Invalid user credentials"     | `PasswordRejected`     | AuthRejected        |
//! | `invalid_grant` "Account disabled"             | `AccountDisabled`      | AuthRejected        |
//! | `invalid_grant` "Account is not fully set up"  | `AccountNotReady`      | AccountNotReady     |
//! | `invalid_grant` on a refresh grant             | `RefreshRejected`      | AuthRejected        |
//! | another OAuth error                            | `Refused`              | ClientRejected      |
//! | discovery: unreachable, 4xx, not JSON, fields  | `DiscoveryFailed`      | DiscoveryFailed     |
//! | 5xx, a status without an OAuth error body      | `Unavailable`          | UpstreamUnavailable |
//! | a success that is not a token response         | `BadAnswer`            | UpstreamUnavailable |
//! | no answer: TLS, timeout, dropped connection    | `Send`                 | Tls / Upstream…     |

use opcp_cred_proto::{ErrorKind, Secret};
use reqwest::StatusCode;
use serde::Deserialize;

use super::{ClientCredentials, Discovery, Grant};
use crate::error::Actionable;
use crate::http::{self, Answer, SendError, Transport};

const LOGIN: &str = "run `opcp-cred login`";

/// A failed discovery or grant. Messages never hold a secret: upstream text is quoted through
/// [`http::quote`], which masks what was sent.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("oidc discovery failed at `{url}`: {reason}")]
    DiscoveryFailed { url: String, reason: String },
    #[error("client `{client_id}` rejected by {realm}: {description}")]
    ClientRejected {
        client_id: String,
        realm: String,
        description: String,
    },
    #[error(
        "client `{client_id}` of {realm} does not allow direct access grants (the password grant)"
    )]
    DirectGrantsDisabled { client_id: String, realm: String },
    #[error("username or password rejected by {realm} for user `{username}`")]
    PasswordRejected { username: String, realm: String },
    #[error("{realm} refused user `{username}`: {description}")]
    AccountDisabled {
        username: String,
        realm: String,
        description: String,
    },
    #[error("user `{username}` has pending required actions in {realm}")]
    AccountNotReady { username: String, realm: String },
    #[error("{realm} no longer accepts the refresh token: {description}")]
    RefreshRejected { realm: String, description: String },
    #[error("{realm} refused the token request of client `{client_id}`: {error}: {description}")]
    Refused {
        client_id: String,
        realm: String,
        error: String,
        description: String,
    },
    #[error("keycloak answered {status} at `{url}`")]
    Unavailable { url: String, status: StatusCode },
    #[error("keycloak answered {status} at `{url}` with a body that is not a token response")]
    BadAnswer { url: String, status: StatusCode },
}

/// RFC 6749 §5.2 error response.
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OidcError {
    /// Keycloak turned the password down: retrying would only feed its brute-force counter.
    pub fn is_rejected_password(&self) -> bool {
        matches!(
            self,
            Self::PasswordRejected { .. }
                | Self::AccountDisabled { .. }
                | Self::AccountNotReady { .. }
        )
    }

    /// The refresh token is dead (expired, session ended): fall back to the password grant.
    pub fn is_refresh_rejected(&self) -> bool {
        matches!(self, Self::RefreshRejected { .. })
    }

    /// An unreachable discovery URL is most often a wrong one; TLS and timeouts keep their kind.
    pub fn discovery_send(url: &str, err: SendError) -> Self {
        match err.transport {
            Transport::Unreachable => Self::DiscoveryFailed {
                url: url.to_owned(),
                reason: format!("cannot connect: {}", err.detail()),
            },
            _ => Self::Send(err),
        }
    }

    /// A token endpoint answer that is not a success.
    pub(super) fn from_refusal(
        answer: &Answer,
        disc: &Discovery,
        client: &ClientCredentials<'_>,
        grant: Grant<'_>,
    ) -> Self {
        let unavailable = || Self::Unavailable {
            url: disc.token_endpoint.clone(),
            status: answer.status,
        };
        if !answer.status.is_client_error() {
            return unavailable();
        }
        let Ok(body) = serde_json::from_slice::<OAuthError>(&answer.body) else {
            return unavailable();
        };
        let sent = sent_secrets(client, grant);
        let description = http::quote(body.error_description.as_deref().unwrap_or(""), &sent);
        let realm = disc.label();
        let client_id = client.client_id.to_owned();
        match (body.error.as_str(), grant) {
            // Keycloak answers a wrong client secret with 401 `unauthorized_client` (an
            // unknown client with `invalid_client`); a client without direct access grants
            // gets 400 `unauthorized_client`.
            ("invalid_client", _) => Self::ClientRejected {
                client_id,
                realm,
                description,
            },
            ("unauthorized_client", _) if answer.status == StatusCode::UNAUTHORIZED => {
                Self::ClientRejected {
                    client_id,
                    realm,
                    description,
                }
            }
            ("unauthorized_client", Grant::Password { .. }) => {
                Self::DirectGrantsDisabled { client_id, realm }
            }
            ("invalid_grant", Grant::Password { username, .. }) => {
                password_refusal(username.to_owned(), realm, description)
            }
            ("invalid_grant", Grant::Refresh { .. }) => {
                Self::RefreshRejected { realm, description }
            }
            (error, _) => Self::Refused {
                client_id,
                realm,
                error: http::quote(error, &sent),
                description,
            },
        }
    }
}

fn sent_secrets<'a>(client: &ClientCredentials<'a>, grant: Grant<'a>) -> Vec<&'a Secret> {
    let from_grant = match grant {
        Grant::Password { password, .. } => password,
        Grant::Refresh { refresh_token } => refresh_token,
    };
    vec![client.client_secret, from_grant]
}

/// Keycloak words `invalid_grant` on a password grant by what is wrong with the account.
fn password_refusal(username: String, realm: String, description: String) -> OidcError {
    let lower = description.to_lowercase();
    if lower.contains("not fully set up") {
        OidcError::AccountNotReady { username, realm }
    } else if lower.contains("disabled") {
        OidcError::AccountDisabled {
            username,
            realm,
            description,
        }
    } else {
        OidcError::PasswordRejected { username, realm }
    }
}

impl Actionable for OidcError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Send(err) => err.kind(),
            Self::DiscoveryFailed { .. } => ErrorKind::DiscoveryFailed,
            Self::ClientRejected { .. }
            | Self::DirectGrantsDisabled { .. }
            | Self::Refused { .. } => ErrorKind::ClientRejected,
            Self::PasswordRejected { .. }
            | Self::AccountDisabled { .. }
            | Self::RefreshRejected { .. } => ErrorKind::AuthRejected,
            Self::AccountNotReady { .. } => ErrorKind::AccountNotReady,
            Self::Unavailable { .. } | Self::BadAnswer { .. } => ErrorKind::UpstreamUnavailable,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Send(err) => return err.hint(),
            Self::DiscoveryFailed { reason, .. } if reason.starts_with("cannot connect") => {
                "check that keycloak is up and reachable from this host (a proxy or VPN?); \
                 opcp-cred retries by itself"
                    .to_owned()
            }
            Self::DiscoveryFailed { .. } => "check that it points to the right realm: \
                `https://<keycloak>/realms/<realm>/.well-known/openid-configuration`"
                .to_owned(),
            Self::ClientRejected { client_id, .. } => format!(
                "check the client secret in the Credentials tab of client `{client_id}` in \
                 keycloak, then {LOGIN}"
            ),
            Self::DirectGrantsDisabled { client_id, .. } => format!(
                "enable \"Direct access grants\" in the settings of client `{client_id}` in keycloak"
            ),
            Self::PasswordRejected { .. } => {
                format!("{LOGIN} to store the right password (nothing is retried until then)")
            }
            Self::AccountDisabled { .. } => format!(
                "ask a keycloak administrator to enable the account (too many failed logins \
                 lock it for a while), then {LOGIN}"
            ),
            Self::AccountNotReady { .. } => format!(
                "log in once in a browser to complete them (e.g. a password update), then {LOGIN}"
            ),
            Self::Refused { .. } => "check the client's settings in keycloak and the profile's \
                `client_id` and `scope`"
                .to_owned(),
            Self::Unavailable { status, .. } if status.is_server_error() => return None,
            Self::Unavailable { .. } | Self::BadAnswer { .. } => {
                "check that the URL points to keycloak (a proxy may be answering instead)"
                    .to_owned()
            }
            Self::RefreshRejected { .. } => return None,
        })
    }
}
