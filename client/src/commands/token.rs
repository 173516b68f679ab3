//! `opcp-cred token`: the token alone, and the request `env` and `exec` share.

use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::{TokenRequest, TokenResponse};
use opcp_cred_proto::routes;

use super::write_stdout;
use crate::cli::TokenArgs;
use crate::daemon::Daemon;

/// A token for the profile and project the arguments name (the daemon fills in defaults);
/// with `cached_only`, from the daemon's cache or not at all.
pub async fn fetch(args: &TokenArgs, cached_only: bool) -> anyhow::Result<TokenResponse> {
    let request = TokenRequest {
        profile: args.profile.resolve()?,
        project: args.project.selector(),
        min_valid_secs: args.min_valid.map(|d| d.as_secs()),
        cached_only,
        refresh: args.refresh,
    };
    let mut daemon = Daemon::connect().await?;
    let token: TokenResponse = daemon.post(routes::TOKEN, &request).await?;
    // Served from the last good config: a typo in config.toml must not go unnoticed.
    if let Some(error) = &token.config_error {
        eprintln!(
            "opcp-cred: warning: {error}\n  hint: the last good config is in use until you fix it"
        );
    }
    Ok(token)
}

pub async fn run(args: &TokenArgs) -> anyhow::Result<()> {
    let token = fetch(args, false).await?;
    let line = Secret::new(format!("{}\n", token.token.expose()));
    write_stdout(line.expose())
}
