//! The socket API between `opcp-cred` (the client) and `opcp-credd` (the daemon).
//!
//! Everything both sides must agree on lives here and nowhere else:
//!
//! - [`version`]: the one protocol version, a literal, reported by `GET /v1/status`.
//! - [`routes`]: the HTTP paths under `/v1`.
//! - [`messages`]: request and response bodies (JSON). Unknown fields are ignored so that
//!   an older client can talk to a newer daemon within one API version.
//! - [`error`]: the one error body, `{ "error": { "kind", "message", "hint" } }`, and the
//!   process exit code each kind maps to.
//! - [`doctor`]: the checks of `opcp-cred doctor`, their order and exit codes, the report,
//!   and the masking of credentials in proxy URLs.
//! - [`secret`]: [`Secret`], a string that never shows in `Debug` output and is wiped on drop.
//! - [`paths`]: where the socket lives (`OPCP_CRED_SOCKET`, `$XDG_RUNTIME_DIR`, or a private
//!   per-uid fallback).
//!
//! The crate does no I/O beyond path logic, so both binaries can depend on it cheaply.

pub mod doctor;
pub mod error;
pub mod messages;
pub mod paths;
pub mod routes;
pub mod secret;
pub mod version;

pub use error::{ErrorBody, ErrorKind, ExitCode};
pub use secret::Secret;
pub use version::API_VERSION;
