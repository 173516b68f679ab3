//! The log of a daemon the client started (systemd's journal takes the others):
//! `$XDG_STATE_HOME/opcp-cred/opcp-credd.log`, mode 0600, in a 0700 directory. The previous
//! daemon's log is kept as `opcp-credd.log.1`, so the traces of a crash survive the autostart
//! that follows it; older ones are dropped, which bounds the space taken.
//!
//! Only the daemon that owns the socket touches the log, once it holds the start-up lock: a
//! second `opcp-credd` started meanwhile must not rotate the running daemon's log away.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use opcp_cred_proto::paths;

/// The log's path, its directory created private when missing.
pub fn path() -> anyhow::Result<PathBuf> {
    let dirs = directories::BaseDirs::new().context("cannot find your home directory")?;
    let dir = dirs
        .state_dir()
        .map_or_else(|| dirs.home_dir().join(".local/state"), Path::to_path_buf)
        .join("opcp-cred");
    paths::ensure_private_dir(&dir).with_context(|| format!("log directory {}", dir.display()))?;
    Ok(dir.join("opcp-credd.log"))
}

/// From now on, this process's stderr (the tracing output) goes to a new log at `path`.
pub fn redirect_stderr(path: &Path) -> io::Result<()> {
    let file = start(path)?;
    rustix::stdio::dup2_stderr(&file)?;
    Ok(())
}

/// A new, empty log at `path`; the one there becomes `path.1`.
pub fn start(path: &Path) -> io::Result<File> {
    let mut previous = path.as_os_str().to_owned();
    previous.push(".1");
    match std::fs::rename(path, &previous) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::start;

    #[test]
    fn the_previous_log_is_kept_once_and_logs_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opcp-credd.log");
        let previous = dir.path().join("opcp-credd.log.1");
        for run in ["first", "second", "third"] {
            writeln!(start(&path).unwrap(), "{run} daemon").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "third daemon\n");
        assert_eq!(
            std::fs::read_to_string(&previous).unwrap(),
            "second daemon\n"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
