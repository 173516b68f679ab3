//! systemd integration: socket activation (`LISTEN_FDS`) and readiness (`sd_notify`).
//!
//! Both are no-ops outside systemd, so the same binary serves `systemctl --user`, a manual
//! start and an autostart by the client.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use sd_notify::NotifyState;

/// The listening socket passed by systemd (or `systemd-socket-activate`), if any.
pub fn activated_listener() -> io::Result<Option<UnixListener>> {
    let mut fds = sd_notify::listen_fds()?;
    let Some(fd) = fds.next() else {
        return Ok(None);
    };
    if fds.len() > 0 {
        tracing::warn!("systemd passed more than one socket; using the first");
    }
    // SAFETY: `listen_fds` returns descriptors that systemd passed to this process (checked
    // against LISTEN_PID) and that nothing else in the process owns; we take each once.
    #[allow(unsafe_code)]
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let listener = UnixListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// Tell systemd the socket is being served (`Type=notify`).
pub fn notify_ready() {
    notify(&[NotifyState::Ready]);
}

/// Tell systemd shutdown has begun.
pub fn notify_stopping() {
    notify(&[NotifyState::Stopping]);
}

fn notify(state: &[NotifyState]) {
    if let Err(err) = sd_notify::notify(state) {
        tracing::warn!(error = %err, "sd_notify failed");
    }
}

/// Ping systemd's watchdog at half its interval, forever, when `WatchdogSec=` is set; return
/// at once otherwise. A daemon whose runtime hangs stops pinging and is restarted.
pub async fn keep_watchdog_fed() {
    let Some(interval) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut ticks = tokio::time::interval(interval / 2);
    loop {
        ticks.tick().await;
        notify(&[NotifyState::Watchdog]);
    }
}

/// Whether systemd started us (and so collects our stderr into the journal).
pub fn under_systemd() -> bool {
    std::env::var_os("INVOCATION_ID").is_some() || std::env::var_os("NOTIFY_SOCKET").is_some()
}
