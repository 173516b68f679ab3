//! `opcp-cred completions SHELL` and `opcp-cred man --dir DIR`: generated from the command
//! definition itself, so they never drift from the flags.

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs, InteractiveShell, ManArgs};
use crate::error::CliError;

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let shell = match args.shell {
        InteractiveShell::Bash => Shell::Bash,
        InteractiveShell::Zsh => Shell::Zsh,
        InteractiveShell::Fish => Shell::Fish,
    };
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "opcp-cred", &mut out);
    let mut script = String::from_utf8_lossy(&out).into_owned();
    if shell == Shell::Bash {
        script = fix_bash_states(&script);
    }
    super::write_stdout(&script)
}

/// clap_complete's bash script spells its states two ways for a binary name with a hyphen
/// (clap-rs/clap#6421): the loop that walks the words builds `opcp__cred__subcmd__env`, the
/// `case` arms expect `opcp__subcmd__cred__subcmd__env`, so no flag of a subcommand would ever
/// complete. Spell the arms as the loop does. (The completions test catches a regression.)
fn fix_bash_states(script: &str) -> String {
    script.replace("opcp__subcmd__cred", "opcp__cred")
}

/// `opcp-cred.1` and `opcp-cred-<subcommand>.1` for each subcommand.
pub fn man(args: &ManArgs) -> anyhow::Result<()> {
    let fail = |e: std::io::Error| {
        CliError::usage(format!(
            "cannot write the man pages into {}: {e}",
            args.dir.display()
        ))
    };
    std::fs::create_dir_all(&args.dir).map_err(fail)?;
    clap_mangen::generate_to(Cli::command(), &args.dir).map_err(fail)?;
    eprintln!(
        "opcp-cred: man pages written to {}; `man opcp-cred` reads them when the directory above it is on your MANPATH (man-db adds ~/.local/share/man when ~/.local/bin is on PATH)",
        args.dir.display()
    );
    Ok(())
}
