//! One user, two configurations (two HOMEs) that both name a profile alike: the keyring is per
//! user, so their entries meet. One's password must never be sent for the other, and one's
//! logout must not delete the other's secrets.

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, openrc_text, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{SimConfig, fixture};

#[test]
fn a_profile_name_shared_by_two_configs_never_mixes_their_secrets() {
    let sim = SimGuard::start(SimConfig::default());
    let first = TestEnv::new(KeyringKind::Keyutils);
    let second = TestEnv::new(KeyringKind::Keyutils);
    let profile = first.profile("shared");
    let daemon = DaemonGuard::start(&first);
    let _second_daemon = DaemonGuard::start(&second);

    ok(&first.import_text(&profile, &openrc_text(&sim)));
    let admin = openrc_text(&sim)
        .replace("/realms/pod/", "/realms/master/")
        .replace(
            "OS_IDENTITY_PROVIDER=keycloak\n",
            "OS_IDENTITY_PROVIDER=keycloak-admin\n",
        )
        .replace(
            &format!("OS_USERNAME={}\n", fixture::USER),
            &format!("OS_USERNAME={}\n", fixture::ADMIN_USER),
        );
    ok(&second.import_text(&profile, &admin));

    // The first daemon, restarted, finds the second's secrets under its profile name.
    daemon.kill();
    let _daemon = DaemonGuard::start(&first);
    sim.reset_counters();
    let out = first.run(["token", "--profile", &profile]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("another configuration"), "{stderr}");
    // Which values differ, so that a hand edit can be told from another HOME.
    assert!(
        stderr.contains(&format!(
            "username `{}`, config.toml has `{}`",
            fixture::ADMIN_USER,
            fixture::USER
        )),
        "{stderr}"
    );
    assert!(stderr.contains("/realms/master/"), "{stderr}");
    assert_eq!(
        sim.counters().password_grant_ok + sim.counters().password_grant_failed,
        0,
        "nothing was sent"
    );

    // The first's logout leaves the second's secrets alone.
    ok(&first.run(["logout", "--profile", &profile]));
    let identity = first
        .keyring
        .read(&format!("{profile}/identity"))
        .expect("the second's entries remain");
    assert!(identity.contains(fixture::ADMIN_USER), "{identity}");
    ok(&second.run(["token", "--profile", &profile]));
    ok(&second.run(["logout", "--profile", &profile]));
    assert_eq!(second.keyring.read(&format!("{profile}/identity")), None);
}
