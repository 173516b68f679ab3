//! Where the daemon's socket lives. One function decides, both binaries call it.
//!
//! 1. `OPCP_CRED_SOCKET`, when set and not empty, as given;
//! 2. `$XDG_RUNTIME_DIR/opcp-cred/daemon.sock`;
//! 3. without `XDG_RUNTIME_DIR` (ssh without a systemd session, `sudo -u`): a per-uid private
//!    directory in the temporary directory, `opcp-cred-<uid>/daemon.sock`, as tmux does. Its
//!    directory must be owned by us and mode 0700, or it is refused: another user could have
//!    created it first to catch our requests.

use std::ffi::OsString;
use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Overrides the socket path for both binaries.
pub const SOCKET_ENV: &str = "OPCP_CRED_SOCKET";
/// File name of the socket inside its directory.
pub const SOCKET_FILE: &str = "daemon.sock";

/// The resolved socket path and the directory this project owns around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketLocation {
    pub socket: PathBuf,
    /// The directory to create with mode 0700 and to check before use; `None` when the user
    /// named the socket explicitly (its directory is theirs to manage).
    pub private_dir: Option<PathBuf>,
}

impl SocketLocation {
    /// The lock file that serialises daemon start-ups for this socket.
    pub fn lock_file(&self) -> PathBuf {
        let mut name = self.socket.clone().into_os_string();
        name.push(".lock");
        PathBuf::from(name)
    }
}

/// Resolve from the process environment.
pub fn socket_location() -> SocketLocation {
    resolve(
        std::env::var_os(SOCKET_ENV),
        std::env::var_os("XDG_RUNTIME_DIR"),
        &std::env::temp_dir(),
        rustix::process::getuid().as_raw(),
    )
}

/// The pure decision, for tests.
pub fn resolve(
    explicit: Option<OsString>,
    runtime_dir: Option<OsString>,
    temp_dir: &Path,
    uid: u32,
) -> SocketLocation {
    if let Some(path) = explicit.filter(|p| !p.is_empty()) {
        return SocketLocation {
            socket: PathBuf::from(path),
            private_dir: None,
        };
    }
    let dir = match runtime_dir.filter(|d| !d.is_empty() && Path::new(d).is_absolute()) {
        Some(runtime) => PathBuf::from(runtime).join("opcp-cred"),
        None => temp_dir.join(format!("opcp-cred-{uid}")),
    };
    SocketLocation {
        socket: dir.join(SOCKET_FILE),
        private_dir: Some(dir),
    }
}

/// Create `dir` with mode 0700 (at creation, no window with a wider mode) if it is missing,
/// then check it.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_private_dir(dir)
}

/// The directory must be a real directory (not a symlink), owned by us, and closed to others.
pub fn check_private_dir(dir: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    let uid = rustix::process::getuid().as_raw();
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    if meta.uid() != uid {
        return Err(io::Error::other(format!(
            "{} belongs to uid {}, not to you (uid {uid}): refusing to use it",
            dir.display(),
            meta.uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(io::Error::other(format!(
            "{} has mode {mode:04o}; it must be 0700 (run `chmod 700 {}`)",
            dir.display(),
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // reads better at the call sites
    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn explicit_wins() {
        let loc = resolve(os("/x/s.sock"), os("/run/user/1"), Path::new("/tmp"), 1);
        assert_eq!(loc.socket, Path::new("/x/s.sock"));
        assert_eq!(loc.private_dir, None);
        assert_eq!(loc.lock_file(), Path::new("/x/s.sock.lock"));
    }

    #[test]
    fn runtime_dir_next() {
        let loc = resolve(os(""), os("/run/user/1000"), Path::new("/tmp"), 1000);
        assert_eq!(
            loc.socket,
            Path::new("/run/user/1000/opcp-cred/daemon.sock")
        );
        assert_eq!(
            loc.private_dir.as_deref(),
            Some(Path::new("/run/user/1000/opcp-cred"))
        );
    }

    #[test]
    fn per_uid_fallback_without_runtime_dir() {
        for runtime in [None, os(""), os("relative/dir")] {
            let loc = resolve(None, runtime, Path::new("/tmp"), 1000);
            assert_eq!(loc.socket, Path::new("/tmp/opcp-cred-1000/daemon.sock"));
        }
    }

    #[test]
    fn private_dir_is_created_0700_and_wider_modes_are_refused() {
        let base =
            std::env::temp_dir().join(format!("opcp-cred-proto-test-{}", std::process::id()));
        let dir = base.join("sock");
        std::fs::create_dir_all(&base).unwrap();
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err();
        assert!(err.to_string().contains("0755"), "{err}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
