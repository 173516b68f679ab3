//! `opcp-cred exec -- CMD…`: replace this process with CMD, a fresh token in its environment,
//! so signals and the exit status are CMD's own.

use std::ffi::OsStr;
use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

use super::token;
use crate::cli::ExecArgs;
use crate::error::{CliError, Code};
use crate::shell;

pub async fn run(args: &ExecArgs) -> anyhow::Result<()> {
    let (program, program_args) = args.command.split_first().expect("clap requires a command");
    let token = token::fetch(&args.token, false).await?;
    let expires_at = token.expires_at.to_string();
    let mut command = Command::new(program);
    command.args(program_args);
    for name in shell::UNSET {
        command.env_remove(name);
    }
    command.envs(shell::variables(&token, &expires_at));
    // Only returns on failure.
    let err = command.exec();
    Err(exec_error(program, &err).into())
}

/// The shell's conventions: 127 when the command is not found, 126 when it cannot run.
fn exec_error(program: &OsStr, err: &io::Error) -> CliError {
    let name = program.to_string_lossy();
    if err.kind() == io::ErrorKind::NotFound {
        return CliError::new(Code::CommandNotFound, format!("command not found: {name}"))
            .with_hint("check its spelling, and that it is on PATH");
    }
    CliError::new(
        Code::CommandNotExecutable,
        format!("cannot run {name}: {err}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_and_not_executable_follow_the_shell() {
        let err = exec_error(
            OsStr::new("opnestack"),
            &io::Error::from(io::ErrorKind::NotFound),
        );
        assert_eq!(err.code, Code::CommandNotFound);
        assert_eq!(err.message, "command not found: opnestack");
        let err = exec_error(
            OsStr::new("./x"),
            &io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert_eq!(err.code, Code::CommandNotExecutable);
        assert!(
            err.message.starts_with("cannot run ./x: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_missing_command_really_reports_not_found() {
        let err = Command::new("opcp-cred-test-no-such-command").exec();
        assert_eq!(
            exec_error(OsStr::new("x"), &err).code,
            Code::CommandNotFound
        );
    }
}
