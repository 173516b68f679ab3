//! The one place where errors become the wire body.
//!
//! Each module keeps its own error type (thiserror) with the context a person needs: profile,
//! URL, file. They all implement [`Actionable`]: a [`ErrorKind`], a lower-case message (their
//! `Display`) and a hint that says what to do next. The broker turns them into an
//! [`ErrorDetail`] once, at the end of an upstream flow, because one failed flow answers every
//! request that was waiting on it (it has to be `Clone`). [`Failure`] is what handlers return;
//! its `IntoResponse` picks the status code and logs once.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opcp_cred_proto::error::{ErrorBody, ErrorDetail, ErrorKind};

/// An error that knows what it means to the user.
pub trait Actionable: std::error::Error {
    fn kind(&self) -> ErrorKind;

    /// What to do about it, when there is something to say.
    fn hint(&self) -> Option<String> {
        None
    }

    fn detail(&self) -> ErrorDetail {
        ErrorDetail {
            kind: self.kind(),
            message: self.to_string(),
            hint: self.hint(),
        }
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub ErrorDetail);

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>, hint: Option<String>) -> Self {
        Self(ErrorDetail {
            kind,
            message: message.into(),
            hint,
        })
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
}

impl<E: Actionable> From<E> for Failure {
    fn from(err: E) -> Self {
        Self(err.detail())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

/// The HTTP status for each kind. The client reads the kind, not the status; the status is for
/// people poking at the socket with curl.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::ProfileNotFound => StatusCode::NOT_FOUND,
        ErrorKind::NoProject | ErrorKind::ConfigInvalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::AuthRejected
        | ErrorKind::ClientRejected
        | ErrorKind::AccountNotReady
        | ErrorKind::FederationRejected
        | ErrorKind::LoginRequired => StatusCode::UNAUTHORIZED,
        ErrorKind::ProjectForbidden => StatusCode::FORBIDDEN,
        ErrorKind::DiscoveryFailed | ErrorKind::UpstreamUnavailable | ErrorKind::Tls => {
            StatusCode::BAD_GATEWAY
        }
        ErrorKind::KeyringUnavailable | ErrorKind::NotCached => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = status_of(self.0.kind);
        if status.is_server_error() {
            tracing::warn!(kind = ?self.0.kind, message = %self.0.message, "request failed");
        } else {
            tracing::info!(kind = ?self.0.kind, message = %self.0.message, "request refused");
        }
        (status, Json(ErrorBody { error: self.0 })).into_response()
    }
}
