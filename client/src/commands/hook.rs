//! `opcp-cred hook SHELL`: a prompt hook for the shell's rc file that keeps `OS_TOKEN` fresh.
//!
//! The hook acts only in a shell that `eval $(opcp-cred env)` set up (it exported
//! `OPCP_CRED_PROFILE` and `OS_TOKEN`); elsewhere it costs a variable test and no process.
//! Before each prompt it asks for the same profile and project with `env --if-changed`, which
//! prints nothing while `$OS_TOKEN` is still the token the daemon serves: one cache hit. When
//! the daemon has refreshed the token, or the exported one nears expiry (the daemon then
//! serves a new one), the new exports are evaluated.
//!
//! A prompt never waits on Keycloak or Keystone and never prints: `--if-changed` answers from
//! the daemon's cache only (a miss starts the fetch for a later prompt) within 2 s, and the
//! hook drops its stderr. What went wrong is in `opcp-cred status`; the shell keeps the token
//! it has.
//!
//! Like direnv's hook, the snippet names this binary by its absolute path, so a prompt never
//! depends on `PATH`.

use std::path::Path;

use super::write_stdout;
use crate::cli::{HookArgs, InteractiveShell};

pub fn run(args: &HookArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    write_stdout(&snippet(args.shell, &exe))
}

fn snippet(shell: InteractiveShell, exe: &Path) -> String {
    let exe = exe.to_string_lossy();
    match shell {
        InteractiveShell::Bash => BASH.replace("@EXE@", &sh_quote(&exe)),
        InteractiveShell::Zsh => ZSH.replace("@EXE@", &sh_quote(&exe)),
        InteractiveShell::Fish => FISH.replace("@EXE@", &fish_quote(&exe)),
    }
}

/// The exit status of the user's last command is kept for their prompt.
const BASH: &str = r#"_opcp_cred_hook() {
  local status=$?
  if [ -n "${OPCP_CRED_PROFILE-}" ] && [ -n "${OS_TOKEN-}" ]; then
    local -a args=(env --if-changed --profile "$OPCP_CRED_PROFILE")
    [ -n "${OS_PROJECT_ID-}" ] && args+=(--project-id "$OS_PROJECT_ID")
    local exports
    exports=$(@EXE@ "${args[@]}" 2>/dev/null) && [ -n "$exports" ] && eval "$exports"
  fi
  return $status
}
case ";${PROMPT_COMMAND-};" in
  *";_opcp_cred_hook;"*) ;;
  *) PROMPT_COMMAND="_opcp_cred_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac
"#;

const ZSH: &str = r#"_opcp_cred_hook() {
  if [[ -n ${OPCP_CRED_PROFILE-} && -n ${OS_TOKEN-} ]]; then
    local -a args=(env --if-changed --profile "$OPCP_CRED_PROFILE")
    [[ -n ${OS_PROJECT_ID-} ]] && args+=(--project-id "$OS_PROJECT_ID")
    local exports
    exports=$(@EXE@ "${args[@]}" 2>/dev/null) && [[ -n $exports ]] && eval "$exports"
  fi
}
typeset -ag precmd_functions
if (( ! ${precmd_functions[(I)_opcp_cred_hook]} )); then
  precmd_functions=(_opcp_cred_hook $precmd_functions)
fi
"#;

const FISH: &str = r"function __opcp_cred_hook --on-event fish_prompt
    if set -q OPCP_CRED_PROFILE[1]; and set -q OS_TOKEN[1]
        set -l args env --shell fish --if-changed --profile $OPCP_CRED_PROFILE
        set -q OS_PROJECT_ID[1]; and set -a args --project-id $OS_PROJECT_ID
        @EXE@ $args 2>/dev/null | source
    end
end
";

/// `'…'` with `'` as `'\''`: one word in bash and zsh whatever the path holds.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// fish's single quotes take `\'` and `\\` as escapes.
fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_is_named_by_its_quoted_absolute_path() {
        let exe = Path::new("/opt/it's here/opcp-cred");
        let bash = snippet(InteractiveShell::Bash, exe);
        assert!(
            bash.contains(r"exports=$('/opt/it'\''s here/opcp-cred' "),
            "{bash}"
        );
        assert!(!bash.contains("@EXE@"));
        let fish = snippet(InteractiveShell::Fish, exe);
        assert!(
            fish.contains(r"'/opt/it\'s here/opcp-cred' $args 2>/dev/null | source"),
            "{fish}"
        );
    }

    #[test]
    fn every_hook_asks_only_for_a_changed_token_of_the_shell_profile() {
        for shell in [
            InteractiveShell::Bash,
            InteractiveShell::Zsh,
            InteractiveShell::Fish,
        ] {
            let text = snippet(shell, Path::new("/usr/bin/opcp-cred"));
            assert!(text.contains("--if-changed --profile"), "{text}");
            assert!(text.contains("OS_PROJECT_ID"), "{text}");
        }
    }
}
