//! One daemon per socket, and waiting for the one that is starting without polling.
//!
//! Two `flock`s beside the socket:
//! - `daemon.sock.lock`, held exclusively for the daemon's whole life: whoever holds it owns
//!   the socket, so a socket file found at start-up is a stale one and may be replaced;
//! - `daemon.sock.starting`, held exclusively from before the first lock until the socket is
//!   bound. A process that finds another one starting takes it *shared*, which the kernel
//!   grants the moment the starter has bound (or died): readiness as an event.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use opcp_cred_proto::paths::{self, SocketLocation};
use rustix::fs::FlockOperation;

/// What [`claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// We own the socket: bind it, then call [`Owner::bound`].
    Owner(Owner),
    /// Another daemon owns it and, as far as locks can tell, has bound it.
    Taken,
}

/// The locks of the daemon that owns the socket.
#[derive(Debug)]
pub struct Owner {
    /// Held until the process exits.
    _daemon: File,
    starting: Option<File>,
}

impl Owner {
    /// The socket is bound: release whoever waits for us.
    pub fn bound(&mut self) {
        self.starting = None;
    }
}

/// Take the locks, or wait until the daemon that holds them has bound its socket. Blocking.
pub fn claim(location: &SocketLocation) -> io::Result<Claim> {
    if let Some(dir) = &location.private_dir {
        paths::ensure_private_dir(dir)?;
    }
    let starting_path = starting_file(location);
    let starting = open(&starting_path)?;
    if !try_lock(
        &starting,
        &starting_path,
        FlockOperation::NonBlockingLockExclusive,
    )? {
        // Another process is starting: wait for it to bind (or to give up).
        lock(&starting, &starting_path, FlockOperation::LockShared)?;
        return Ok(Claim::Taken);
    }
    let daemon_path = location.lock_file();
    let daemon = open(&daemon_path)?;
    if !try_lock(
        &daemon,
        &daemon_path,
        FlockOperation::NonBlockingLockExclusive,
    )? {
        // A daemon that finished starting long ago.
        return Ok(Claim::Taken);
    }
    Ok(Claim::Owner(Owner {
        _daemon: daemon,
        starting: Some(starting),
    }))
}

fn starting_file(location: &SocketLocation) -> PathBuf {
    location.lock_file().with_extension("starting")
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))
}

/// `Ok(false)` when another process holds the lock.
fn try_lock(file: &File, path: &Path, operation: FlockOperation) -> io::Result<bool> {
    match rustix::fs::flock(file, operation) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(err) => Err(io::Error::other(format!(
            "cannot lock {}: {err}",
            path.display()
        ))),
    }
}

fn lock(file: &File, path: &Path, operation: FlockOperation) -> io::Result<()> {
    try_lock(file, path, operation).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(dir: &Path) -> SocketLocation {
        SocketLocation {
            socket: dir.join("daemon.sock"),
            private_dir: Some(dir.join("sub")),
        }
    }

    #[test]
    fn one_owner_then_taken_and_a_waiter_wakes_when_the_owner_has_bound() {
        let dir = tempfile::tempdir().expect("temp dir");
        let location = location(dir.path());
        let Claim::Owner(mut owner) = claim(&location).expect("first claim") else {
            panic!("the first claimant owns the socket");
        };
        let waiter = {
            let location = location.clone();
            std::thread::spawn(move || claim(&location).expect("second claim"))
        };
        owner.bound();
        assert!(matches!(
            waiter.join().expect("waiter thread"),
            Claim::Taken
        ));
        assert!(matches!(
            claim(&location).expect("later claim"),
            Claim::Taken
        ));
        drop(owner);
        assert!(matches!(
            claim(&location).expect("after exit"),
            Claim::Owner(_)
        ));
    }
}
