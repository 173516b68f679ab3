//! `opcp-cred logout`: revoke the profile's tokens and forget its secrets.

use opcp_cred_proto::messages::DeleteProfileResponse;
use opcp_cred_proto::routes;

use super::profile_name;
use crate::cli::ProfileArg;
use crate::daemon::Daemon;

pub async fn run(args: &ProfileArg) -> anyhow::Result<()> {
    let mut daemon = Daemon::connect().await?;
    let name = profile_name(&mut daemon, args).await?;
    let answer: DeleteProfileResponse = daemon.delete(&routes::profile(&name)).await?;
    let plural = if answer.revoked == 1 { "" } else { "s" };
    eprintln!(
        "opcp-cred: logged out of profile {}: {} token{plural} revoked, secrets removed from the keyring",
        answer.profile, answer.revoked
    );
    Ok(())
}
