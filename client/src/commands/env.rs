//! `opcp-cred env`: shell code that exports a token. stdout gets that code and nothing else,
//! and only once everything succeeded, so a failed `eval $(opcp-cred env)` changes nothing.

use std::io::IsTerminal as _;
use std::time::{Duration, SystemTime};

use opcp_cred_proto::messages::TokenResponse;

use super::{token, write_stdout};
use crate::cli::EnvArgs;
use crate::{duration, shell};

/// A prompt waits no longer than this for `--if-changed`, whatever the daemon is doing.
const PROMPT_DEADLINE: Duration = Duration::from_secs(2);

pub async fn run(args: &EnvArgs) -> anyhow::Result<()> {
    let token = if args.if_changed {
        let fetch = token::fetch(&args.token, true);
        let token = tokio::time::timeout(PROMPT_DEADLINE, fetch)
            .await
            .map_err(|_| {
                anyhow::anyhow!("the daemon did not answer within {PROMPT_DEADLINE:?}")
            })??;
        if already_exported(&token) {
            return Ok(());
        }
        token
    } else {
        token::fetch(&args.token, false).await?
    };
    let expires_at = token.expires_at.to_string();
    let text = shell::render(args.shell, &shell::variables(&token, &expires_at));
    write_stdout(text.expose())?;
    // A prompt hook stays quiet: the note is for a person who typed the command.
    if !args.if_changed && std::io::stderr().is_terminal() {
        eprintln!("{}", expiry_note(&token, SystemTime::now()));
    }
    Ok(())
}

/// Whether this shell's `$OS_TOKEN` is the token the daemon gave (`--if-changed`).
fn already_exported(token: &TokenResponse) -> bool {
    std::env::var_os("OS_TOKEN").is_some_and(|current| current == token.token.expose())
}

fn expiry_note(token: &TokenResponse, now: SystemTime) -> String {
    let project = token.project_name.as_deref().unwrap_or(&token.project_id);
    let left = duration::short(token.expires_at.remaining(now));
    format!(
        "opcp-cred: token for project {project} valid until {} (in {left})",
        token.expires_at
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opcp_cred_proto::Secret;
    use opcp_cred_proto::messages::Timestamp;

    use super::*;

    #[test]
    fn the_note_names_the_project_and_the_time_left() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_553_445);
        let mut token = TokenResponse {
            token: Secret::new("fake-token"),
            expires_at: Timestamp(now + Duration::from_secs(59 * 60 + 30)),
            profile: "pod".into(),
            project_id: "0123abcd".into(),
            project_name: Some("web".into()),
            auth_url: "https://keystone.example.test/v3".into(),
            interface: None,
            region_name: None,
            cacert: None,
            config_error: None,
        };
        assert_eq!(
            expiry_note(&token, now),
            "opcp-cred: token for project web valid until 2030-01-02T04:03:35Z (in 59m)"
        );
        token.project_name = None;
        assert!(expiry_note(&token, now).contains("project 0123abcd valid"));
        assert!(!expiry_note(&token, now).contains("fake-token"));
    }
}
