//! A running daemon and its surroundings: hand edits of config.toml, a `--min-valid` the
//! cloud cannot meet, `logout --all`.

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{Counters, SimConfig, fixture};

fn imported(env: &TestEnv, sim: &SimGuard, base: &str) -> String {
    let profile = env.profile(base);
    let openrc = env.write_openrc(sim, "openrc.sh");
    ok(&env.run(["import", "--profile", &profile, openrc.to_str().unwrap()]));
    profile
}

fn status(env: &TestEnv) -> serde_json::Value {
    serde_json::from_str(&ok(&env.run(["status", "--json"]))).expect("status json")
}

#[test]
fn a_min_valid_beyond_the_clouds_maximum_is_refused_without_a_login() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profile = imported(&env, &sim, "long");
    sim.reset_counters();
    for _ in 0..3 {
        let out = env.run(["token", "--profile", &profile, "--min-valid", "2h"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("at most 59m") || stderr.contains("at most 1h"),
            "{stderr}"
        );
    }
    assert_eq!(
        sim.counters(),
        Counters::default(),
        "no login for an impossible request"
    );
    ok(&env.run(["token", "--profile", &profile, "--min-valid", "45m"]));
}

#[test]
fn a_broken_hand_edit_keeps_the_last_good_config_and_says_so() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profile = imported(&env, &sim, "edit");
    let good = std::fs::read_to_string(env.config_path()).expect("config written by import");
    std::fs::write(
        env.config_path(),
        format!("{good}\n[profiles.{profile}\nbroken = \n"),
    )
    .unwrap();

    let served = env.run(["token", "--profile", &profile]);
    let (_, warning) = text(&served);
    ok(&served);
    assert!(
        warning.contains("warning") && warning.contains("line"),
        "{warning}"
    );
    // A request that fails says so too: the broken edit may be the cause.
    let refused = env.run([
        "token",
        "--profile",
        &profile,
        "--project-id",
        fixture::PROJECT_SECRET_ID,
    ]);
    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("not authorised") && stderr.contains("last good config is in use"),
        "{stderr}"
    );
    let error = status(&env)["config_error"]
        .as_str()
        .expect("config error shown")
        .to_owned();
    assert!(
        error.contains("config.toml") && error.contains("line"),
        "{error}"
    );

    std::fs::write(env.config_path(), &good).unwrap();
    assert!(
        status(&env)["config_error"].is_null(),
        "a fixed file clears the error"
    );
}

#[test]
fn logout_all_revokes_and_forgets_every_profile() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profiles = [imported(&env, &sim, "one"), imported(&env, &sim, "two")];
    let tokens: Vec<String> = profiles
        .iter()
        .map(|p| ok(&env.run(["token", "--profile", p])).trim().to_owned())
        .collect();
    ok(&env.run(["logout", "--all"]));
    for (profile, token) in profiles.iter().zip(&tokens) {
        assert!(
            sim.is_revoked(token),
            "{profile}'s token is revoked at keystone"
        );
        assert_eq!(env.keyring.read(&format!("{profile}/password")), None);
    }
    assert!(
        status(&env)["profiles"]
            .as_array()
            .expect("profiles")
            .is_empty()
    );
}

#[test]
fn a_daemon_started_on_a_broken_config_names_the_line_to_fix() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    env.write_config(
        "keyring = \"keyutils\"\n[profiles.pod]\nauth_ulr = \"https://keystone.example.test\"\n",
    );
    let _daemon = DaemonGuard::start(&env);
    let out = env.run(["env", "--profile", "pod"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("line 3") && stderr.contains("auth_ulr"),
        "{stderr}"
    );
    assert!(stderr.contains("config.toml"), "{stderr}");
}

#[test]
fn a_horizon_style_openrc_imports_with_the_password_on_stdin() {
    use std::io::Write as _;
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    // Horizon's file asks for the password with `read`: import never runs it.
    let openrc = opcp_cred_tests::env::openrc_text(&sim).replace(
        &format!("export OS_PASSWORD={}\n", fixture::PASSWORD),
        "echo \"Please enter your password: \"\nread -sr OS_PASSWORD_INPUT\nexport OS_PASSWORD=$OS_PASSWORD_INPUT\n",
    );
    let path = env.path("horizon-openrc.sh");
    std::fs::write(&path, openrc).unwrap();
    let profile = env.profile("horizon");
    let mut child = env
        .client([
            "import",
            "--profile",
            &profile,
            "--password-stdin",
            path.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", fixture::PASSWORD).as_bytes())
        .unwrap();
    ok(&child.wait_with_output().unwrap());
    assert_eq!(
        env.keyring.read(&format!("{profile}/password")).as_deref(),
        Some(fixture::PASSWORD)
    );
    ok(&env.run(["token", "--profile", &profile]));
}
