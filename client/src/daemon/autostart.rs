//! Starting opcp-credd on demand, as gpg-agent is started: run it and wait for it to exit.
//! It daemonises itself and exits 0 only once its socket listens, so no polling is needed.

use std::ffi::OsString;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::CliError;

const DAEMON: &str = "opcp-credd";

/// Beside this executable first (an unpacked release, `target/debug`), else the bare name,
/// which `Command` looks up on `PATH`.
pub fn daemon_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(DAEMON)))
        .filter(|beside| beside.is_file())
        .unwrap_or_else(|| PathBuf::from(DAEMON))
}

/// Our environment minus `OS_*`: the daemon must not inherit a sourced openrc's password or
/// client secret (and has no use for the rest).
fn daemon_environment(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> impl Iterator<Item = (OsString, OsString)> {
    vars.filter(|(name, _)| !name.as_encoded_bytes().starts_with(b"OS_"))
}

/// Run `program` with no arguments and wait for it. Its stdout is kept off ours (which may be
/// `eval`ed); its stderr becomes the error message when it fails.
pub fn start(program: &Path) -> Result<(), CliError> {
    let mut command = Command::new(program);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .envs(daemon_environment(std::env::vars_os()));
    let mut child = command.spawn().map_err(|e| {
        CliError::unreachable(format!("could not start {}: {e}", program.display()))
            .with_hint("install opcp-credd beside opcp-cred or on PATH, or start it with `systemctl --user start opcp-credd.socket`")
    })?;
    // Waiting before reading is safe: a daemon that succeeds detaches from these pipes, and one
    // that fails writes a few lines at most.
    let status = child.wait().map_err(|e| {
        CliError::unreachable(format!("could not wait for {}: {e}", program.display()))
    })?;
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        // A read error leaves the message without the daemon's words, nothing worse.
        let _ = pipe.read_to_string(&mut stderr);
    }
    let said = match stderr.trim() {
        "" => format!("it exited with {status} and said nothing"),
        text => text.to_owned(),
    };
    Err(CliError::unreachable(format!("could not start opcp-credd: {said}"))
        .with_hint("run `opcp-credd --foreground` to see it fail, or start it with `systemctl --user start opcp-credd.socket`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_gets_no_os_variables() {
        let vars = [
            ("OS_PASSWORD", "fake"),
            ("HOME", "/home/u"),
            ("OPCP_CRED_SOCKET", "/s"),
            ("XOS_", "x"),
        ];
        let vars = vars.map(|(n, v)| (OsString::from(n), OsString::from(v)));
        let kept: Vec<_> = daemon_environment(vars.into_iter())
            .map(|(n, _)| n)
            .collect();
        assert_eq!(kept, ["HOME", "OPCP_CRED_SOCKET", "XOS_"]);
    }
}
