//! One module per subcommand; each `run` takes its parsed arguments. What several share lives
//! here: the profile name a route needs, storing a profile, writing to stdout.

mod docs;
mod doctor;
mod env;
mod exec;
mod hook;
mod import;
mod login;
mod logout;
mod projects;
mod status;
mod token;

use std::io::Write as _;

use opcp_cred_proto::messages::{ProfileList, PutProfile, PutProfileResponse};
use opcp_cred_proto::routes;

use crate::cli::{Command, ProfileArg};
use crate::daemon::Daemon;
use crate::error::CliError;

pub use doctor::long_help as doctor_help;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Env(args) => env::run(&args).await,
        Command::Token(args) => token::run(&args).await,
        Command::Exec(args) => exec::run(&args).await,
        Command::Login(args) => {
            undumpable();
            login::run(&args).await
        }
        Command::Import(args) => {
            undumpable();
            import::run(&args).await
        }
        Command::Status(args) => status::run(&args).await,
        Command::Logout(args) => logout::run(&args).await,
        Command::Projects(args) => projects::run(&args).await,
        Command::Hook(args) => hook::run(&args),
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args),
        Command::Doctor(args) => doctor::run(&args).await,
    }
}

/// For the commands that hold a password: no core dump and no ptrace by another process of
/// the user can read it. Best effort: where the kernel refuses, the command still runs.
fn undumpable() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// `--profile`, `$OPCP_CRED_PROFILE`, else the daemon's default: for routes that name one.
async fn profile_name(daemon: &mut Daemon, arg: &ProfileArg) -> anyhow::Result<String> {
    if let Some(name) = arg.resolve()? {
        return Ok(name);
    }
    let list: ProfileList = daemon.get(routes::PROFILES).await?;
    if let Some(name) = list.default_profile {
        return Ok(name);
    }
    let names: Vec<_> = list.profiles.iter().map(|p| p.name.as_str()).collect();
    let hint = if names.is_empty() {
        "create one with `opcp-cred login` or `opcp-cred import`".to_owned()
    } else {
        format!("pass --profile NAME (configured: {})", names.join(", "))
    };
    Err(
        CliError::config("no profile given and no default profile configured")
            .with_hint(hint)
            .into(),
    )
}

/// `PUT` the profile (the daemon logs in with it before storing anything), say what was
/// stored on stderr, and print the one line to use from now on.
async fn store(daemon: &mut Daemon, name: &str, profile: &PutProfile) -> anyhow::Result<()> {
    let answer: PutProfileResponse = daemon.put(&routes::profile(name), profile).await?;
    let config = &profile.config;
    let project = match (&config.project_id, &config.project_name) {
        (Some(id), _) => format!("project {id}"),
        (None, Some(name)) => format!("project {name}"),
        (None, None) => "no project".to_owned(),
    };
    let default = if answer.is_default {
        " (the default profile)"
    } else {
        ""
    };
    eprintln!(
        "opcp-cred: stored profile {}{default}: user {} at {}, {project}; password and client secret in the {} keyring",
        answer.profile, config.username, config.auth_url, answer.keyring
    );
    if answer.keyring == "keyutils" {
        eprintln!(
            "opcp-cred: note: the keyutils keyring is kept in kernel memory: a reboot, or 3 days without use (the kernel's default), clears it; then `opcp-cred login --profile {}` asks for the secrets again",
            answer.profile
        );
    }
    write_stdout(&format!(
        "eval $(opcp-cred env --profile {})\n",
        answer.profile
    ))
}

/// All of `text` in one write, so a reader never sees half of it.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Upstream text for the terminal: control characters (escape sequences, newlines) from a
/// lying or compromised server are shown as `?`, never sent to the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// [`printable`] for messages of several lines, such as errors quoting upstream text: line
/// breaks stay, every other control character is shown as `?`.
pub fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod printable_tests {
    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            super::printable("web\u{1b}]0;pwned\u{7}\nx"),
            "web?]0;pwned??x"
        );
        assert_eq!(super::printable("plain project-1"), "plain project-1");
        assert_eq!(
            super::printable_lines("refused: \u{1b}[2J\u{1b}[31mred\n  note: x"),
            "refused: ?[2J?[31mred\n  note: x"
        );
    }
}
