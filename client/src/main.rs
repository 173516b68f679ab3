//! `opcp-cred`, the user's side of opcp-cred: asks the opcp-credd daemon for project-scoped
//! OpenStack tokens and hands them to the shell. It holds no secrets at rest and links no TLS.
//!
//! - [`cli`]: the command line (clap derive), the profile and project arguments.
//! - [`commands`]: one module per subcommand (`env`, `token`, `exec`, `login`, `import`,
//!   `status`, `logout`, `projects`, `doctor`).
//! - [`daemon`]: HTTP/1.1 over the daemon's Unix socket, error bodies, starting the daemon.
//! - [`shell`]: the exported variables and their rendering for sh, fish, csh and JSON (pure).
//! - [`openrc`]: reading openrc files with the shell's quoting rules, never running them (pure).
//! - [`clouds_yaml`]: clouds.yaml and secure.yaml as openstacksdk finds and merges them.
//! - [`prompt`]: questions on the terminal, secrets on stdin.
//! - [`duration`]: `--min-valid 45m` and "in 42m".
//! - [`error`]: [`error::CliError`]; [`exit_code`] below is the one place it becomes a number.
//!
//! Start-up cost matters (this runs in shell prompts): a current-thread runtime with I/O only,
//! no logging subscriber.

mod cli;
mod clouds_yaml;
mod commands;
mod daemon;
mod duration;
mod error;
mod openrc;
mod prompt;
mod shell;

use anyhow::Context as _;
use clap::Parser as _;
use opcp_cred_proto::ExitCode;

use crate::cli::Cli;
use crate::error::{CliError, Code};

fn main() -> std::process::ExitCode {
    // Usage errors exit 2 from here, `--help` and `--version` 0.
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            std::process::ExitCode::from(exit_code(&err))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(commands::run(cli.command))
}

/// The error chain once, then the hint of the first [`CliError`] in it.
/// Messages may quote what a server said: no escape sequence of theirs reaches the terminal.
fn report(err: &anyhow::Error) {
    eprintln!(
        "opcp-cred: {}",
        commands::printable_lines(&format!("{err:#}"))
    );
    if let Some(hint) = cli_error(err).and_then(|e| e.hint.as_deref()) {
        eprintln!("  hint: {}", commands::printable_lines(hint));
    }
}

fn cli_error(err: &anyhow::Error) -> Option<&CliError> {
    err.chain().find_map(|e| e.downcast_ref::<CliError>())
}

/// The process exit code for an error; documented in `opcp-cred --help`.
fn exit_code(err: &anyhow::Error) -> u8 {
    let Some(err) = cli_error(err) else {
        return ExitCode::Failure as u8;
    };
    match err.code {
        Code::Failure => ExitCode::Failure as u8,
        Code::Daemon(kind) => kind.exit_code() as u8,
        Code::Unreachable => ExitCode::DaemonUnreachable as u8,
        Code::Usage => ExitCode::Usage as u8,
        Code::Config => ExitCode::Configuration as u8,
        Code::Exact(code) => code,
        Code::CommandNotFound => 127,
        Code::CommandNotExecutable => 126,
    }
}

#[cfg(test)]
mod tests {
    use opcp_cred_proto::ErrorKind;

    use super::*;

    fn code_of(code: Code) -> u8 {
        exit_code(&CliError::new(code, "m").into())
    }

    #[test]
    fn every_code_maps_to_its_documented_exit_code() {
        assert_eq!(code_of(Code::Failure), 1);
        assert_eq!(code_of(Code::Usage), 2);
        assert_eq!(code_of(Code::Unreachable), 3);
        assert_eq!(code_of(Code::Daemon(ErrorKind::AuthRejected)), 4);
        assert_eq!(code_of(Code::Daemon(ErrorKind::LoginRequired)), 4);
        assert_eq!(code_of(Code::Daemon(ErrorKind::KeyringUnavailable)), 5);
        assert_eq!(code_of(Code::Daemon(ErrorKind::Tls)), 6);
        assert_eq!(code_of(Code::Daemon(ErrorKind::NoProject)), 7);
        assert_eq!(code_of(Code::Daemon(ErrorKind::BadRequest)), 2);
        assert_eq!(code_of(Code::Daemon(ErrorKind::Unknown)), 1);
        assert_eq!(code_of(Code::Config), 7);
        assert_eq!(code_of(Code::Exact(17)), 17);
        assert_eq!(code_of(Code::CommandNotFound), 127);
        assert_eq!(code_of(Code::CommandNotExecutable), 126);
    }

    #[test]
    fn other_errors_exit_1_and_context_keeps_the_code() {
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), 1);
        let wrapped = anyhow::Error::from(CliError::usage("inner")).context("outer");
        assert_eq!(exit_code(&wrapped), 2);
        assert_eq!(format!("{wrapped:#}"), "outer: inner");
    }
}
