//! The Unix socket: binding it safely, checking every peer, serving HTTP/1.1 with limits.
//!
//! - The socket's directory is created 0700 and the socket is chmod 0600 (bound under a 0177
//!   umask so it never exists with a wider mode).
//! - Every accepted connection's peer uid (SO_PEERCRED) must be ours; others are dropped
//!   before a byte is read.
//! - Each connection runs hyper's HTTP/1.1 server with a header read timeout (idle and slow
//!   clients are cut off), a write timeout (clients that stop reading are cut off: see
//!   [`write_timeout`]) and a small buffer; the router adds the body limit. A malformed
//!   request ends that connection, never the daemon.
//! - At most [`max_connections`] connections are served at once; more wait in the kernel's
//!   backlog rather than exhaust the file descriptors the daemon needs for its own work.
//! - Shutdown: stop accepting, let in-flight requests finish (bounded), remove the socket file
//!   if we created it.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustix::fs::Mode;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

mod write_timeout;

use write_timeout::WriteTimeout;

/// A client that has not sent a full request head within this time is disconnected; this
/// also closes idle keep-alive connections.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that reads nothing of an answer for this long is disconnected.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Request heads are small; this caps what one connection can make us buffer.
const MAX_BUF_SIZE: usize = 64 * 1024;
/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A listening socket and whether we own its file.
#[derive(Debug)]
pub struct Bound {
    pub listener: UnixListener,
    /// Set when we created the socket file (remove it on exit); `None` under socket activation.
    pub owned_path: Option<PathBuf>,
}

/// Bind `path` with mode 0600. The caller holds the start-up lock, so an existing file is a
/// stale socket of a dead daemon and is replaced.
pub fn bind(path: &Path) -> io::Result<Bound> {
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!(socket = %path.display(), "removed a stale socket"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let previous = rustix::process::umask(Mode::from_raw_mode(0o177));
    let listener = UnixListener::bind(path);
    rustix::process::umask(previous);
    let listener = listener?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(Bound {
        listener,
        owned_path: Some(path.to_owned()),
    })
}

/// Serve `app` on `bound` until `shutdown` resolves, then drain.
pub async fn serve(bound: Bound, app: Router, shutdown: impl Future<Output = ()>) {
    let my_uid = rustix::process::getuid().as_raw();
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_BUF_SIZE);
    let mut shutdown = std::pin::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(max_connections()));
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = bound.listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_error(&err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if !peer_is(&stream, my_uid) {
            continue;
        }
        let service = TowerToHyperService::new(app.clone());
        let stream = WriteTimeout::new(stream, WRITE_TIMEOUT);
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(bound.listener);
    if let Some(path) = &bound.owned_path {
        let _ = std::fs::remove_file(path);
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// Half the file descriptors the process may open, between 16 and 1024.
pub fn max_connections() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let half = limit.map_or(1024, |n| usize::try_from(n / 2).unwrap_or(usize::MAX));
    half.clamp(16, 1024)
}

fn peer_is(stream: &UnixStream, my_uid: u32) -> bool {
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == my_uid => true,
        Ok(cred) => {
            tracing::warn!(peer_uid = cred.uid(), peer_pid = ?cred.pid(), "refused a connection from another user");
            false
        }
        Err(err) => {
            tracing::warn!(error = %err, "refused a connection whose peer is unknown");
            false
        }
    }
}

/// Out of file descriptors and similar: log, pause briefly so the loop does not spin, go on.
async fn accept_error(err: &io::Error) {
    tracing::warn!(error = %err, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
