//! The cache: one upstream flow for 50 concurrent cold requests, none for a later one, and a
//! daemon killed with SIGKILL that serves again from the keyring without a new `login`.

use std::thread;

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{Counters, SimConfig};

#[test]
fn fifty_concurrent_cold_requests_cause_one_flow_and_a_killed_daemon_recovers() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::Keyutils);
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile("pod");
    let openrc = env.write_openrc(&sim, "openrc.sh");
    ok(&env.run(["import", "--profile", &profile, openrc.to_str().unwrap()]));

    // A crash: the cache is gone, the secrets are in the keyring.
    daemon.kill();
    let _daemon = DaemonGuard::start(&env);
    sim.reset_counters();

    let tokens: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| ok(&env.run(["token", "--profile", &profile]))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let first = tokens[0].trim();
    assert!(!first.is_empty());
    assert!(
        tokens.iter().all(|t| t.trim() == first),
        "all 50 got the same token"
    );
    let counters = sim.counters();
    assert_eq!(counters.password_grant_ok, 1, "{counters:?}");
    assert_eq!(counters.federation_auth, 1, "{counters:?}");
    assert_eq!(counters.scope, 1, "{counters:?}");

    sim.reset_counters();
    let again = ok(&env.run(["env", "--profile", &profile]));
    assert!(again.contains(first), "a later call is a cache hit");
    assert_eq!(
        sim.counters(),
        Counters::default(),
        "no upstream request for a cache hit"
    );
}

#[test]
fn refresh_replaces_a_token_keystone_revoked_without_a_password_login() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("pod");
    let openrc = env.write_openrc(&sim, "openrc.sh");
    ok(&env.run(["import", "--profile", &profile, openrc.to_str().unwrap()]));
    let revoked = ok(&env.run(["token", "--profile", &profile]));
    let revoked = revoked.trim();

    // An administrator revokes it: the cache cannot know, `--refresh` is the way out.
    sim.revoke(revoked);
    assert_eq!(
        ok(&env.run(["token", "--profile", &profile])).trim(),
        revoked
    );
    sim.reset_counters();
    let fresh = ok(&env.run(["token", "--profile", &profile, "--refresh"]));
    let fresh = fresh.trim();
    assert_ne!(fresh, revoked);
    assert!(!sim.is_revoked(fresh));
    let counters = sim.counters();
    assert_eq!(
        counters.federation_auth, 1,
        "a new Keystone login: {counters:?}"
    );
    assert_eq!(counters.scope, 1, "{counters:?}");
    assert_eq!(
        counters.password_grant_ok, 0,
        "Keycloak's refresh token spared the password: {counters:?}"
    );
    // And the new token is what is cached from now on.
    let env_out = ok(&env.run(["env", "--profile", &profile]));
    assert!(env_out.contains(fresh), "{env_out}");
    let conflict = env.run(["env", "--profile", &profile, "--refresh", "--if-changed"]);
    assert_eq!(
        conflict.status.code(),
        Some(2),
        "a prompt hook never refreshes"
    );
}
