//! The client's own error: a message for a person, an optional hint, and what went wrong in
//! terms of exit codes. `main::exit_code` is the one place that turns it into a number.

use std::fmt;

use opcp_cred_proto::ErrorKind;
use opcp_cred_proto::error::ErrorDetail;

/// What kind of failure, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Anything without a more specific code.
    Failure,
    /// The daemon answered with an error body of this kind.
    Daemon(ErrorKind),
    /// Nothing answers on the socket and the daemon could not be started, or the socket
    /// directory is unsafe.
    Unreachable,
    /// The command line does not say enough and there is no terminal to ask on.
    Usage,
    /// The openrc file or environment cannot be imported as it is.
    Config,
    /// An exit code the command chose itself (`doctor`: 10 + the failed step).
    Exact(u8),
    /// `exec`: the command does not exist (the shell's 127).
    CommandNotFound,
    /// `exec`: the command exists but cannot be run (the shell's 126).
    CommandNotExecutable,
}

#[derive(Debug)]
pub struct CliError {
    pub code: Code,
    /// Lower-case, names the input.
    pub message: String,
    /// The next step, printed on its own line.
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Code::Config, message)
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(Code::Unreachable, message)
    }

    /// The daemon's own words: its message and hint are shown as they are.
    pub fn daemon(detail: ErrorDetail) -> Self {
        Self {
            code: Code::Daemon(detail.kind),
            message: detail.message,
            hint: detail.hint,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
