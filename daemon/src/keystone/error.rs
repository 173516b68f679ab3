//! Keystone's answers, as errors a person can act on.
//!
//! | Keystone says                                  | variant                   | kind                |
//! |------------------------------------------------|---------------------------|---------------------|
//! | 401/403 on federation auth                     | `FederationRejected`      | FederationRejected  |
//! | 404 with an error body on federation auth      | `UnknownIdentityProvider` | FederationRejected  |
//! | 404 without one (not Keystone) on federation   | `NoFederationApi`         | FederationRejected  |
//! | 401/403 on scope                               | `ProjectForbidden`        | ProjectForbidden    |
//! | 404 on scope, 401 on the project list          | `TokenRejected`           | UpstreamUnavailable |
//! | 5xx or any other status                        | `Unavailable`             | UpstreamUnavailable |
//! | 2xx without X-Subject-Token or a readable body | `BadAnswer`               | UpstreamUnavailable |
//! | no answer: TLS, timeout, dropped connection    | `Send`                    | Tls / Upstream…     |

use opcp_cred_proto::messages::ProjectSelector;
use opcp_cred_proto::{ErrorKind, Secret};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::error::Actionable;
use crate::http::{self, Answer, SendError};

/// A failed Keystone call. Messages quote Keystone's own text with the tokens sent masked.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    #[error(transparent)]
    Send(#[from] SendError),
    #[error(
        "keystone refused the keycloak token for identity provider `{idp}` (protocol `{protocol}`){}",
        suffix(.message.as_deref())
    )]
    FederationRejected {
        idp: String,
        protocol: String,
        message: Option<String>,
    },
    #[error(
        "keystone knows no identity provider `{idp}` with protocol `{protocol}`{}",
        suffix(.message.as_deref())
    )]
    UnknownIdentityProvider {
        idp: String,
        protocol: String,
        message: Option<String>,
    },
    #[error(
        "nothing at `{url}` (404 without a keystone error): `auth_url` does not lead to keystone"
    )]
    NoFederationApi { url: String },
    #[error("not authorised on project {project}{}", suffix(.message.as_deref()))]
    ProjectForbidden {
        /// Already formatted: "`id`" or "`name` in domain `d`".
        project: String,
        message: Option<String>,
        /// The `projects` claim of the Keycloak token, when it had one.
        claimed: Option<Vec<String>>,
    },
    #[error("keystone no longer accepts the token at `{url}`{}", suffix(.message.as_deref()))]
    TokenRejected {
        url: String,
        message: Option<String>,
    },
    #[error("keystone answered {status} at `{url}`{}", suffix(.message.as_deref()))]
    Unavailable {
        url: String,
        status: StatusCode,
        message: Option<String>,
    },
    #[error("keystone answered {status} at `{url}` with {reason}")]
    BadAnswer {
        url: String,
        status: StatusCode,
        reason: &'static str,
    },
    #[error("the token is not a valid http header value")]
    MalformedToken,
}

fn suffix(message: Option<&str>) -> String {
    message
        .as_ref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

impl KeystoneError {
    /// Keystone no longer knows the token the call was made with: get a new one.
    pub fn is_token_rejected(&self) -> bool {
        matches!(self, Self::TokenRejected { .. })
    }

    pub(super) fn unexpected(url: &str, answer: &Answer, sent: &[&Secret]) -> Self {
        Self::Unavailable {
            url: url.to_owned(),
            status: answer.status,
            message: upstream_message(answer, sent),
        }
    }

    pub(super) fn bad_answer(url: &str, answer: &Answer, reason: &'static str) -> Self {
        Self::BadAnswer {
            url: url.to_owned(),
            status: answer.status,
            reason,
        }
    }
}

/// Keystone's error body: `{"error": {"code", "message", "title"}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDoc,
}

#[derive(Deserialize)]
struct ErrorDoc {
    message: String,
}

/// Keystone's error message, fit to quote: it echoes token ids ("could not find token: …").
pub(super) fn upstream_message(answer: &Answer, sent: &[&Secret]) -> Option<String> {
    let body: ErrorBody = serde_json::from_slice(&answer.body).ok()?;
    Some(http::quote(&body.error.message, sent)).filter(|m| !m.is_empty())
}

/// A project as messages name it: "`id`" or "`name` in domain `d`".
pub fn describe(project: &ProjectSelector) -> String {
    match project {
        ProjectSelector::Id { id } => format!("`{id}`"),
        ProjectSelector::Name { name, domain_name } => {
            format!("`{name}` in domain `{domain_name}`")
        }
    }
}

impl Actionable for KeystoneError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Send(err) => err.kind(),
            Self::FederationRejected { .. }
            | Self::UnknownIdentityProvider { .. }
            | Self::NoFederationApi { .. } => ErrorKind::FederationRejected,
            Self::ProjectForbidden { .. } => ErrorKind::ProjectForbidden,
            Self::TokenRejected { .. } | Self::Unavailable { .. } | Self::BadAnswer { .. } => {
                ErrorKind::UpstreamUnavailable
            }
            Self::MalformedToken => ErrorKind::Internal,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Send(err) => return err.hint(),
            Self::FederationRejected { .. } => {
                "check the identity provider and protocol names and the mapping".to_owned()
            }
            Self::UnknownIdentityProvider { .. } => "check `identity_provider` and `protocol` of \
                the profile against keystone's OS-FEDERATION configuration"
                .to_owned(),
            Self::NoFederationApi { .. } => "check `auth_url`: keystone's URL with its path \
                prefix, if it has one, e.g. https://keystone.example.net/v3 or \
                https://cloud.example.net/identity/v3"
                .to_owned(),
            Self::ProjectForbidden { claimed, .. } => project_hint(claimed.as_deref()),
            Self::TokenRejected { .. } => "retry: a new token is fetched".to_owned(),
            Self::Unavailable { status, .. } if status.is_server_error() => return None,
            Self::Unavailable { .. } | Self::BadAnswer { .. } => {
                "check that `auth_url` points to keystone (a proxy may be answering instead)"
                    .to_owned()
            }
            Self::MalformedToken => return None,
        })
    }
}

fn project_hint(claimed: Option<&[String]>) -> String {
    let check = "check the user's `project` attribute in keycloak";
    match claimed {
        None => format!("{check} and the project's role assignments in keystone"),
        Some([]) => format!("{check}; the token's projects claim is empty"),
        Some(list) => format!(
            "{check}; the token's projects claim lists: {}",
            list.join(", ")
        ),
    }
}
