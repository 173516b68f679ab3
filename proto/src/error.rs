//! The one error body the daemon sends, and the exit code each kind means to the client.

use serde::{Deserialize, Serialize};

/// What went wrong, as a machine-readable word. The daemon picks it; the client maps it to an
/// exit code with [`ErrorKind::exit_code`] and shows the message and hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request itself is malformed (bad profile name, unparsable body).
    BadRequest,
    /// No such profile in the configuration.
    ProfileNotFound,
    /// A token was asked for without a project, and none is configured.
    NoProject,
    /// The configuration file cannot be used as it is.
    ConfigInvalid,
    /// Keycloak rejected the username or password.
    AuthRejected,
    /// Keycloak rejected the client (secret wrong, or direct access grants disabled).
    ClientRejected,
    /// The Keycloak account has pending required actions.
    AccountNotReady,
    /// Keystone refused the Keycloak token at the federation endpoint.
    FederationRejected,
    /// Keystone refused to scope to the project.
    ProjectForbidden,
    /// The stored credentials were rejected earlier or are missing: `opcp-cred login` is needed.
    LoginRequired,
    /// OIDC discovery failed.
    DiscoveryFailed,
    /// Keycloak or Keystone could not be reached or answered nonsense.
    UpstreamUnavailable,
    /// The server certificate is not trusted.
    Tls,
    /// The OS keyring cannot be reached or is locked.
    KeyringUnavailable,
    /// The host's clock is too far from Keycloak's or Keystone's (reported by `doctor`).
    ClockSkew,
    /// A `cached_only` request found no token in the cache; one is being fetched.
    NotCached,
    /// A bug or an unexpected state in the daemon.
    Internal,
    /// A kind this client does not know (a newer daemon).
    #[serde(other)]
    Unknown,
}

/// Process exit codes of `opcp-cred`, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Ok = 0,
    /// Anything not covered below.
    Failure = 1,
    /// Bad command line or bad request.
    Usage = 2,
    /// Nothing answers on the socket and the daemon could not be started.
    DaemonUnreachable = 3,
    /// Keycloak or Keystone rejected the credentials, client or project; or `login` is needed.
    AuthRejected = 4,
    /// The OS keyring is missing or locked.
    KeyringUnavailable = 5,
    /// Keycloak or Keystone unreachable, TLS not trusted, discovery failed.
    UpstreamUnavailable = 6,
    /// The profile or its configuration is missing or wrong (no project, unknown profile).
    Configuration = 7,
}

impl ErrorKind {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::BadRequest => ExitCode::Usage,
            Self::ProfileNotFound | Self::NoProject | Self::ConfigInvalid => {
                ExitCode::Configuration
            }
            Self::AuthRejected
            | Self::ClientRejected
            | Self::AccountNotReady
            | Self::FederationRejected
            | Self::ProjectForbidden
            | Self::LoginRequired => ExitCode::AuthRejected,
            Self::DiscoveryFailed | Self::UpstreamUnavailable | Self::Tls => {
                ExitCode::UpstreamUnavailable
            }
            Self::KeyringUnavailable => ExitCode::KeyringUnavailable,
            Self::ClockSkew | Self::NotCached | Self::Internal | Self::Unknown => ExitCode::Failure,
        }
    }
}

/// The wire body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Message and hint are lower-case sentences meant for a person; the hint says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ErrorBody {
    pub fn new(kind: ErrorKind, message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            error: ErrorDetail {
                kind,
                message: message.into(),
                hint,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_error_body() {
        let body = ErrorBody::new(
            ErrorKind::AuthRejected,
            "username or password rejected by keycloak realm pod",
            Some("run `opcp-cred login --profile pod`".into()),
        );
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"error":{"kind":"auth_rejected","message":"username or password rejected by keycloak realm pod","hint":"run `opcp-cred login --profile pod`"}}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), body);
    }

    #[test]
    fn unknown_kinds_and_fields_still_parse() {
        let json = r#"{"error":{"kind":"from_the_future","message":"m","extra":1},"more":true}"#;
        let body: ErrorBody = serde_json::from_str(json).unwrap();
        assert_eq!(body.error.kind, ErrorKind::Unknown);
        assert_eq!(body.error.hint, None);
        assert_eq!(body.error.kind.exit_code(), ExitCode::Failure);
    }

    #[test]
    fn auth_kinds_share_one_exit_code() {
        for kind in [
            ErrorKind::AuthRejected,
            ErrorKind::ClientRejected,
            ErrorKind::FederationRejected,
            ErrorKind::ProjectForbidden,
            ErrorKind::LoginRequired,
        ] {
            assert_eq!(kind.exit_code() as u8, 4, "{kind:?}");
        }
        assert_eq!(ErrorKind::KeyringUnavailable.exit_code() as u8, 5);
        assert_eq!(ErrorKind::Tls.exit_code() as u8, 6);
    }
}
