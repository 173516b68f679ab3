//! The connection to opcp-credd: HTTP/1.1 with JSON bodies over its Unix socket.
//!
//! One connection per run, kept alive for the few requests a command makes. An error body
//! becomes a [`CliError`] with the daemon's message and hint; a bare 404 means the daemon
//! does not know the route, so its API version is asked for to say which side is older.
//! When nothing answers, the daemon is started once ([`autostart`]).

mod autostart;

use std::io;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use opcp_cred_proto::messages::Status;
use opcp_cred_proto::paths::{self, SocketLocation};
use opcp_cred_proto::version::mismatch_advice;
use opcp_cred_proto::{API_VERSION, ErrorBody, routes};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::error::{CliError, Code};

/// Set to `1` to never start the daemon from the client.
pub const NO_AUTOSTART_ENV: &str = "OPCP_CRED_NO_AUTOSTART";

/// How to start the daemon here: through systemd when this session has a user manager (its
/// private socket is in the runtime directory), else by hand; it detaches by itself.
fn start_hint() -> &'static str {
    let user_manager = std::env::var_os("XDG_RUNTIME_DIR")
        .is_some_and(|dir| Path::new(&dir).join("systemd/private").exists());
    if user_manager {
        "start it with `systemctl --user start opcp-credd.socket`, or run `opcp-credd`"
    } else {
        "start it with `opcp-credd` (it detaches and logs to ~/.local/state/opcp-cred/opcp-credd.log)"
    }
}

#[derive(Debug)]
pub struct Daemon {
    sender: SendRequest<Full<Bytes>>,
}

/// Why a connection attempt failed.
enum Attempt {
    /// No socket, or a stale one: starting the daemon may help.
    Nobody(io::Error),
    /// Something else (permissions, an unsafe directory): starting the daemon would not help.
    Refused(CliError),
}

impl Daemon {
    /// Connect to the socket the environment names, starting the daemon when nothing answers
    /// unless `OPCP_CRED_NO_AUTOSTART=1`.
    pub async fn connect() -> Result<Self, CliError> {
        let autostart = std::env::var_os(NO_AUTOSTART_ENV).is_none_or(|v| v != "1");
        let program = autostart.then(autostart::daemon_program);
        Self::connect_to(&paths::socket_location(), program.as_deref()).await
    }

    /// Connect to `location`; when nothing answers, run `daemon` (if given) and retry once.
    pub async fn connect_to(
        location: &SocketLocation,
        daemon: Option<&Path>,
    ) -> Result<Self, CliError> {
        let reason = match open(location).await {
            Ok(sender) => return Ok(Self { sender }),
            Err(Attempt::Refused(err)) => return Err(err),
            Err(Attempt::Nobody(reason)) => reason,
        };
        let Some(program) = daemon else {
            return Err(nobody_answers(&location.socket, &reason).with_hint(format!(
                "{} ({NO_AUTOSTART_ENV}=1 keeps opcp-cred from starting it)",
                start_hint()
            )));
        };
        autostart::start(program)?;
        match open(location).await {
            Ok(sender) => Ok(Self { sender }),
            Err(Attempt::Refused(err)) => Err(err),
            Err(Attempt::Nobody(reason)) => Err(nobody_answers(&location.socket, &reason)
                .with_hint(format!(
                    "{} exited successfully but nothing listens; {}",
                    program.display(),
                    start_hint()
                ))),
        }
    }

    pub async fn get<T: DeserializeOwned>(&mut self, path: &str) -> anyhow::Result<T> {
        let body = self.send(Method::GET, path, None).await?;
        parse(path, &body)
    }

    /// The answer's body as the daemon sent it.
    pub async fn get_raw(&mut self, path: &str) -> anyhow::Result<Bytes> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let body = serde_json::to_vec(body).context("could not encode the request")?;
        let answer = self.send(Method::POST, path, Some(body)).await?;
        parse(path, &answer)
    }

    pub async fn put<T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let body = serde_json::to_vec(body).context("could not encode the request")?;
        let answer = self.send(Method::PUT, path, Some(body)).await?;
        parse(path, &answer)
    }

    pub async fn delete<T: DeserializeOwned>(&mut self, path: &str) -> anyhow::Result<T> {
        let body = self.send(Method::DELETE, path, None).await?;
        parse(path, &body)
    }

    /// One request; a non-2xx answer becomes the error it describes.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Bytes> {
        let (status, answer) = self.exchange(method.clone(), path, body).await?;
        if status.is_success() {
            return Ok(answer);
        }
        if let Ok(error) = serde_json::from_slice::<ErrorBody>(&answer) {
            return Err(CliError::daemon(error.error).into());
        }
        if status == StatusCode::NOT_FOUND {
            return Err(self.unknown_route(&method, path).await.into());
        }
        Err(anyhow::anyhow!(
            "opcp-credd answered {method} {path} with HTTP {status} and no error details; its log may say more"
        ))
    }

    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), CliError> {
        if let Some(body) = &body
            && body.len() > routes::MAX_BODY_BYTES
        {
            return Err(CliError::usage(format!(
                "the request is {} KiB, more than the {} KiB opcp-credd reads: a value given is far too long",
                body.len() / 1024,
                routes::MAX_BODY_BYTES / 1024
            )));
        }
        tokio::time::timeout(ANSWER_TIMEOUT, self.exchange_now(method, path, body))
            .await
            .map_err(|_| {
                CliError::unreachable(format!(
                    "opcp-credd did not answer within {} s",
                    ANSWER_TIMEOUT.as_secs()
                ))
                .with_hint(LOG_HINT)
            })?
    }

    async fn exchange_now(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), CliError> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost");
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("routes and profile names are valid URI paths");
        self.sender.ready().await.map_err(|e| lost(&e))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| lost(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| lost(&e))?
            .to_bytes();
        Ok((status, body))
    }

    /// The daemon does not know a route: ask its API version to say which side is older.
    async fn unknown_route(&mut self, method: &Method, path: &str) -> CliError {
        let mut err = CliError::new(
            Code::Failure,
            format!("opcp-credd does not know {method} {path}"),
        );
        let probe = self.exchange(Method::GET, routes::STATUS, None).await;
        let daemon_version = match probe {
            Ok((status, body)) if status.is_success() => serde_json::from_slice::<Status>(&body)
                .ok()
                .map(|s| s.api_version),
            _ => None,
        };
        err.hint = Some(
            match daemon_version.and_then(|v| mismatch_advice(API_VERSION, v)) {
                Some(advice) => advice,
                None if daemon_version.is_some() => {
                    "both speak the same API version: this is a bug, please report it".into()
                }
                None => format!(
                    "opcp-cred speaks API v{API_VERSION} and opcp-credd does not answer its status: install the same release of both"
                ),
            },
        );
        err
    }
}

/// Connect and handshake; nothing else is checked, for speed.
async fn open(location: &SocketLocation) -> Result<SendRequest<Full<Bytes>>, Attempt> {
    if let Some(dir) = &location.private_dir {
        match paths::check_private_dir(dir) {
            Ok(()) => {}
            // The daemon creates it: its absence means the daemon never ran.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Attempt::Nobody(e)),
            Err(e) => {
                return Err(Attempt::Refused(CliError::unreachable(format!(
                    "unsafe socket directory: {e}"
                ))));
            }
        }
    }
    let stream = match UnixStream::connect(&location.socket).await {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(Attempt::Nobody(e));
        }
        Err(e) => {
            let message = format!(
                "cannot connect to opcp-credd at {}: {e}",
                location.socket.display()
            );
            return Err(Attempt::Refused(CliError::unreachable(message)));
        }
    };
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Attempt::Refused(lost(&e)))?;
    // Drives the connection; its errors surface on the request being sent.
    tokio::spawn(connection);
    Ok(sender)
}

fn nobody_answers(socket: &Path, reason: &io::Error) -> CliError {
    let socket = socket.display();
    CliError::unreachable(match reason.kind() {
        io::ErrorKind::NotFound => {
            format!("opcp-credd is not running: there is no socket {socket}")
        }
        io::ErrorKind::ConnectionRefused => {
            format!("opcp-credd is not running: nothing listens on {socket}")
        }
        _ => format!("opcp-credd is not running: nothing answers on {socket} ({reason})"),
    })
}

const LOG_HINT: &str = "see its log: ~/.local/state/opcp-cred/opcp-credd.log when started by opcp-cred, `journalctl --user -u opcp-credd` under systemd";

/// Longer than the daemon's slowest upstream flow (discovery, grant, federation, scope, each
/// bounded at 30 s): only a hung daemon gets here, and a shell rc must not hang with it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(150);

fn lost(e: &hyper::Error) -> CliError {
    CliError::unreachable(format!(
        "opcp-credd closed the connection without answering: {e}"
    ))
    .with_hint(LOG_HINT)
}

fn parse<T: DeserializeOwned>(path: &str, body: &[u8]) -> anyhow::Result<T> {
    serde_json::from_slice(body).with_context(|| {
        format!("cannot read opcp-credd's answer to {path}: is it the same release as opcp-cred (API v{API_VERSION})?")
    })
}

#[cfg(test)]
mod tests;
