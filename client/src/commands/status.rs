//! `opcp-cred status`: the daemon, its keyring and the cached tokens, for people or as JSON.

use std::fmt::Write as _;
use std::time::SystemTime;

use opcp_cred_proto::API_VERSION;
use opcp_cred_proto::messages::{ProfileStatus, Status};
use opcp_cred_proto::routes;
use opcp_cred_proto::version::mismatch_advice;

use super::{printable, write_stdout};
use crate::cli::StatusArgs;
use crate::daemon::Daemon;
use crate::duration;

pub async fn run(args: &StatusArgs) -> anyhow::Result<()> {
    let mut daemon = Daemon::connect().await?;
    if args.json {
        let raw = daemon.get_raw(routes::STATUS).await?;
        let text = String::from_utf8_lossy(&raw);
        return write_stdout(&format!("{}\n", text.trim_end()));
    }
    let status: Status = daemon.get(routes::STATUS).await?;
    write_stdout(&render(&status, SystemTime::now()))
}

fn render(status: &Status, now: SystemTime) -> String {
    let mut out = String::new();
    let up = duration::short(now.duration_since(status.started_at.0).unwrap_or_default());
    let _ = writeln!(
        out,
        "opcp-credd {} (API v{}), pid {}, up {up}",
        status.daemon_version, status.api_version, status.pid
    );
    if let Some(advice) = mismatch_advice(API_VERSION, status.api_version) {
        let _ = writeln!(out, "warning: {advice}");
    }
    let _ = writeln!(out, "config:  {}", status.config_path);
    if let Some(error) = &status.config_error {
        let _ = writeln!(
            out,
            "warning: the config file has an error, the last good one is in use: {error}"
        );
    }
    let keyring = status.keyring.as_deref().unwrap_or("not opened yet");
    let _ = writeln!(out, "keyring: {keyring}");
    if status.profiles.is_empty() {
        out.push_str("no profiles: create one with `opcp-cred login` or `opcp-cred import`\n");
    }
    for profile in &status.profiles {
        let is_default = status.default_profile.as_deref() == Some(profile.name.as_str());
        render_profile(&mut out, profile, is_default, now);
    }
    out
}

fn render_profile(out: &mut String, profile: &ProfileStatus, is_default: bool, now: SystemTime) {
    let default = if is_default { " (default)" } else { "" };
    let _ = writeln!(out, "\nprofile {}{default}", profile.name);
    if profile.tokens.is_empty() {
        out.push_str("  no cached tokens\n");
    }
    for token in &profile.tokens {
        let project = match &token.project_name {
            Some(name) => format!("{} ({})", printable(name), printable(&token.project_id)),
            None => printable(&token.project_id),
        };
        let left = token.expires_at.remaining(now);
        let expiry = if left.is_zero() {
            "expired".to_owned()
        } else {
            format!("expires in {}", duration::short(left))
        };
        let _ = writeln!(out, "  {project}: {expiry}");
    }
    if let Some(success) = &profile.last_success {
        let ago = now.duration_since(success.0).unwrap_or_default();
        let _ = writeln!(out, "  last refresh: {} ago", duration::short(ago));
    }
    if let Some(error) = &profile.last_error {
        let _ = writeln!(out, "  last error: {}", printable(&error.message));
    }
    if let Some(next) = &profile.next_attempt {
        let _ = writeln!(
            out,
            "  next attempt in {}",
            duration::short(next.remaining(now))
        );
    }
    if profile.needs_login {
        let _ = writeln!(
            out,
            "  needs login: run `opcp-cred login --profile {}`",
            profile.name
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opcp_cred_proto::ErrorKind;
    use opcp_cred_proto::error::ErrorDetail;
    use opcp_cred_proto::messages::{CachedToken, Timestamp};

    use super::*;

    #[test]
    fn renders_daemon_profiles_and_tokens() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_553_445);
        let later = |secs| Timestamp(now + Duration::from_secs(secs));
        let earlier = |secs| Timestamp(now - Duration::from_secs(secs));
        let status = Status {
            api_version: API_VERSION,
            daemon_version: "0.1.0".into(),
            pid: 4242,
            started_at: earlier(2 * 3600 + 5 * 60),
            config_path: "/home/u/.config/opcp-cred/config.toml".into(),
            config_error: None,
            keyring: Some("secret-service".into()),
            default_profile: Some("pod".into()),
            profiles: vec![
                ProfileStatus {
                    name: "pod".into(),
                    tokens: vec![
                        CachedToken {
                            project_id: "0123abcd".into(),
                            project_name: Some("web".into()),
                            expires_at: later(42 * 60 + 10),
                            fetched_at: earlier(600),
                        },
                        CachedToken {
                            project_id: "4567".into(),
                            project_name: None,
                            expires_at: earlier(1),
                            fetched_at: earlier(7200),
                        },
                    ],
                    last_success: None,
                    last_error: Some(ErrorDetail {
                        kind: ErrorKind::UpstreamUnavailable,
                        message: "keycloak.example.test unreachable".into(),
                        hint: None,
                    }),
                    needs_login: false,
                    next_attempt: Some(Timestamp(now + Duration::from_secs(8))),
                },
                ProfileStatus {
                    name: "admin".into(),
                    tokens: vec![],
                    last_success: None,
                    last_error: None,
                    needs_login: true,
                    next_attempt: None,
                },
            ],
        };
        assert_eq!(
            render(&status, now),
            "opcp-credd 0.1.0 (API v1), pid 4242, up 2h 5m\n\
             config:  /home/u/.config/opcp-cred/config.toml\n\
             keyring: secret-service\n\
             \n\
             profile pod (default)\n  \
               web (0123abcd): expires in 42m\n  \
               4567: expired\n  \
               last error: keycloak.example.test unreachable\n  \
               next attempt in 8s\n\
             \n\
             profile admin\n  \
               no cached tokens\n  \
               needs login: run `opcp-cred login --profile admin`\n"
        );
    }

    #[test]
    fn warns_about_versions_and_config_errors() {
        let status = Status {
            api_version: API_VERSION + 1,
            daemon_version: "9.0.0".into(),
            pid: 1,
            started_at: Timestamp(SystemTime::UNIX_EPOCH),
            config_path: "/c".into(),
            config_error: Some("line 3: unknown key `auth_ulr`".into()),
            keyring: None,
            default_profile: None,
            profiles: vec![],
        };
        let text = render(&status, SystemTime::UNIX_EPOCH);
        assert!(
            text.contains("warning: opcp-cred speaks API v1 but opcp-credd speaks v2"),
            "{text}"
        );
        assert!(
            text.contains("the last good one is in use: line 3: unknown key `auth_ulr`"),
            "{text}"
        );
        assert!(text.contains("keyring: not opened yet"), "{text}");
        assert!(text.contains("no profiles: create one"), "{text}");
    }
}
