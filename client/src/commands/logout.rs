//! `opcp-cred logout [--profile P | --all]`: revoke the tokens at Keystone and forget the
//! secrets and the profile.

use opcp_cred_proto::messages::{DeleteProfileResponse, ProfileList};
use opcp_cred_proto::routes;

use super::profile_name;
use crate::cli::LogoutArgs;
use crate::daemon::Daemon;

pub async fn run(args: &LogoutArgs) -> anyhow::Result<()> {
    let mut daemon = Daemon::connect().await?;
    let names = if args.all {
        let list: ProfileList = daemon.get(routes::PROFILES).await?;
        list.profiles.into_iter().map(|p| p.name).collect()
    } else {
        vec![profile_name(&mut daemon, &args.profile).await?]
    };
    if names.is_empty() {
        eprintln!("opcp-cred: no profile to log out of");
    }
    for name in names {
        let answer: DeleteProfileResponse = daemon.delete(&routes::profile(&name)).await?;
        let plural = if answer.revoked == 1 { "" } else { "s" };
        eprintln!(
            "opcp-cred: logged out of profile {}: {} token{plural} revoked, secrets removed from the keyring",
            answer.profile, answer.revoked
        );
    }
    Ok(())
}
