//! Every `auth_url` form of DESIGN.md's table reaches Keystone at the right paths, with
//! Keystone at the root and under a path prefix.

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, openrc_text, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::SimConfig;

fn import_with_auth_url(
    env: &TestEnv,
    sim: &SimGuard,
    profile: &str,
    auth_url: &str,
) -> std::process::Output {
    let openrc = openrc_text(sim).replace(
        &format!("OS_AUTH_URL={}\n", sim.keystone_url()),
        &format!("OS_AUTH_URL={auth_url}\n"),
    );
    env.import_text(profile, &openrc)
}

fn check_forms(prefix: &str, forms: &[&str]) {
    let sim = SimGuard::start(SimConfig {
        keystone_prefix: prefix.to_owned(),
        ..SimConfig::default()
    });
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let root = sim.keystone_url().trim_end_matches(prefix).to_owned();
    let expected = format!("{root}{prefix}/v3");
    for form in forms {
        let given = form.replace("{root}", &root);
        let profile = env.profile("url");
        sim.reset_counters();
        ok(&import_with_auth_url(&env, &sim, &profile, &given));
        let counters = sim.counters();
        assert_eq!(
            (counters.federation_auth, counters.scope),
            (1, 1),
            "{given}: {counters:?}"
        );
        let exports = ok(&env.run(["env", "--profile", &profile]));
        assert!(
            exports.contains(&format!("OS_AUTH_URL='{expected}';")),
            "{given} →\n{exports}"
        );
    }
}

#[test]
fn keystone_at_the_root() {
    check_forms(
        "",
        &[
            "{root}",
            "{root}/",
            "{root}/v3",
            "{root}/v3/",
            "{root}/v3/v3/",
        ],
    );
}

#[test]
fn keystone_under_a_path_prefix() {
    check_forms(
        "/identity",
        &[
            "{root}/identity",
            "{root}/identity/",
            "{root}/identity/v3",
            "{root}/identity/v3/",
            "{root}/identity/v3/v3/",
        ],
    );
}

#[test]
fn keystone_v2_is_refused_before_any_request() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    sim.reset_counters();
    let out = import_with_auth_url(
        &env,
        &sim,
        &env.profile("v2"),
        &format!("{}/v2.0", sim.keystone_url()),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("v3 is required"), "{stderr}");
    assert_eq!(sim.counters().password_grant_ok, 0);
}
