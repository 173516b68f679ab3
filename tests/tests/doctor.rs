//! `opcp-cred doctor`: one run per step that can fail, each breaking exactly that step for
//! real (a broken file, a locked keyring, a refused port, an untrusted CA, a rotated password,
//! a refusing Keystone, a clock ten minutes off), plus one run where everything works. Each
//! asserts the step named, its fix and the exit code (10 + the step's number).

use std::process::Output;

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{Fault, SimConfig, Target, fixture};

/// A simulator, a keyring, a daemon and an imported profile.
struct Setup {
    sim: SimGuard,
    env: TestEnv,
    profile: String,
    _daemon: DaemonGuard,
}

fn imported(config: SimConfig) -> Setup {
    let sim = SimGuard::start(config);
    let env = TestEnv::new(KeyringKind::SecretService);
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile("doc");
    ok(&env.import_text(&profile, &env.openrc_trusting(&sim)));
    sim.reset_counters();
    Setup {
        sim,
        env,
        profile,
        _daemon: daemon,
    }
}

fn doctor(env: &TestEnv, profile: &str) -> Output {
    env.run(["doctor", "--profile", profile])
}

/// Replace `from` in config.toml (the daemon picks the edit up by itself).
fn edit_config(env: &TestEnv, from: &str, to: &str) {
    let text = std::fs::read_to_string(env.config_path()).expect("read config.toml");
    assert!(text.contains(from), "config.toml has no `{from}`:\n{text}");
    std::fs::write(env.config_path(), text.replace(from, to)).expect("write config.toml");
}

/// The run failed at `step` (number `n`): exit 10 + n, a ✗ line naming the step with
/// `detail`, a fix line saying `fix`, every step before it ✓ and every one after not checked.
/// Returns stdout.
fn failed_at(out: &Output, n: usize, step: &str, detail: &str, fix: &str) -> String {
    let (stdout, stderr) = text(out);
    let all = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(10 + i32::try_from(n).unwrap()),
        "{all}"
    );
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("profile "))
        .collect();
    let failed = lines
        .iter()
        .position(|l| l.starts_with('✗'))
        .unwrap_or_else(|| panic!("no ✗ line\n{all}"));
    assert_eq!(failed, n - 1, "{all}");
    assert!(
        lines[failed].starts_with(&format!("✗ {n:>2} {step:<10}  ")),
        "{all}"
    );
    assert!(lines[failed].contains(detail), "`{detail}` missing\n{all}");
    let fix_line = lines[failed + 1].trim_start();
    assert!(
        fix_line.starts_with("fix: ") && fix_line.contains(fix),
        "fix `{fix}` missing\n{all}"
    );
    assert!(lines[..failed].iter().all(|l| l.starts_with('✓')), "{all}");
    let later = lines[failed + 2..]
        .iter()
        .take_while(|l| l.starts_with('·'))
        .count();
    assert_eq!(later, 10 - n, "{all}");
    assert!(
        stderr.contains(&format!("step {n} ({step}) failed, exit code {}", 10 + n)),
        "{all}"
    );
    assert!(
        !stdout.contains(fixture::PASSWORD) && !stdout.contains(fixture::CLIENT_SECRET),
        "a secret in the report\n{all}"
    );
    stdout
}

#[test]
fn every_step_passes_on_a_working_profile() {
    let s = imported(SimConfig::default());
    let out = doctor(&s.env, &s.profile);
    let stdout = ok(&out);
    let marks: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("profile ") && !l.starts_with("proxy: "))
        .collect();
    assert_eq!(marks.len(), 10, "{stdout}");
    assert!(marks.iter().all(|l| l.starts_with('✓')), "{stdout}");
    assert!(
        stdout.contains("proxy: none: the daemon connects directly"),
        "{stdout}"
    );
    assert!(!stdout.contains("warning"), "{stdout}");
    let counters = s.sim.counters();
    assert_eq!(
        (
            counters.password_grant_ok,
            counters.federation_auth,
            counters.scope
        ),
        (1, 1, 1),
        "one login, one federation, one scope: {counters:?}"
    );
    assert_eq!(
        counters.revoke, 2,
        "doctor leaves no token behind: {counters:?}"
    );

    let json: serde_json::Value = serde_json::from_slice(
        &s.env
            .run(["doctor", "--json", "--profile", &s.profile])
            .stdout,
    )
    .expect("doctor --json prints JSON");
    let steps = json["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 10, "{json}");
    assert!(steps.iter().all(|s| s["state"] == "ok"), "{json}");
    assert_eq!(steps[0]["step"], "daemon");
    assert_eq!(steps[9]["step"], "clock");
    assert!(
        steps[9]["detail"].as_str().unwrap().contains("agrees"),
        "{json}"
    );
}

#[test]
fn an_unreachable_daemon_is_step_1() {
    // No keyring is reached: keyutils needs no bus to start and stop around this short test.
    let env = TestEnv::new(KeyringKind::Keyutils);
    let out = doctor(&env, "pod");
    failed_at(
        &out,
        1,
        "daemon",
        "opcp-credd is not running",
        // `systemctl --user …` where the session has a user manager, `opcp-credd` elsewhere.
        "start it with `",
    );
}

#[test]
fn a_broken_config_is_step_2_with_its_file_and_line() {
    let s = imported(SimConfig::default());
    let mut good = std::fs::read_to_string(s.env.config_path()).expect("config");
    if !good.ends_with('\n') {
        good.push('\n');
    }
    // Appended to the profile's table, the last one: an unknown key on the file's last line.
    let line = good.lines().count() + 1;
    std::fs::write(s.env.config_path(), format!("{good}auth_ulr = \"typo\"\n")).unwrap();
    let out = doctor(&s.env, &s.profile);
    let path = s.env.config_path().display().to_string();
    let stdout = failed_at(
        &out,
        2,
        "config",
        &format!("{path} line {line}"),
        &format!("fix {path}; the daemon picks up the edit without a restart"),
    );
    assert!(stdout.contains("auth_ulr"), "{stdout}");
}

#[test]
fn a_locked_keyring_is_step_3() {
    let s = imported(SimConfig::default());
    s.env.keyring.lock();
    let out = doctor(&s.env, &s.profile);
    failed_at(
        &out,
        3,
        "keyring",
        "collection (login keyring) is locked",
        "unlock your login keyring",
    );
}

/// A config that names the simulator's fixture profile, written by hand: nothing is stored.
fn hand_written_config(env: &TestEnv, sim: &SimGuard, profile: &str) {
    env.write_config(&format!(
        "keyring = \"secret-service\"\n\n[profiles.{profile}]\nauth_url = \"{}\"\n\
         identity_provider = \"{}\"\ndiscovery_endpoint = \"{}\"\nclient_id = \"{}\"\n\
         username = \"{}\"\nproject_id = \"{}\"\n",
        sim.keystone_url(),
        fixture::IDP,
        sim.discovery_url(fixture::REALM),
        fixture::CLIENT_ID,
        fixture::USER,
        fixture::PROJECT_WEB_ID,
    ));
}

#[test]
fn an_unreachable_keyring_is_step_3() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let profile = env.profile("nobus");
    hand_written_config(&env, &sim, &profile);
    let nowhere = format!("unix:path={}", env.path("no-bus").display());
    let _daemon = DaemonGuard::start_with_env(&env, &[("DBUS_SESSION_BUS_ADDRESS", &nowhere)]);
    let out = doctor(&env, &profile);
    failed_at(
        &out,
        3,
        "keyring",
        "cannot be reached on the D-Bus session bus",
        "start a Secret Service provider",
    );
}

#[test]
fn missing_secrets_are_step_4() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let profile = env.profile("nosecrets");
    hand_written_config(&env, &sim, &profile);
    let _daemon = DaemonGuard::start(&env);
    let out = doctor(&env, &profile);
    failed_at(
        &out,
        4,
        "secrets",
        "is not in the secret-service keyring",
        &format!("run `opcp-cred login --profile {profile}`"),
    );
    assert_eq!(sim.counters().discovery, 0, "nothing sent upstream");
}

#[test]
fn an_unreachable_discovery_endpoint_is_step_5() {
    let s = imported(SimConfig::default());
    s.sim.set_fault(Target::Discovery, Some(Fault::Refuse));
    let out = doctor(&s.env, &s.profile);
    failed_at(
        &out,
        5,
        "discovery",
        "cannot connect",
        "check that keycloak is up and reachable from this host",
    );
}

#[test]
fn an_untrusted_certificate_is_step_6() {
    let s = imported(SimConfig {
        tls: true,
        ..SimConfig::default()
    });
    let ca = s.env.path("ca.pem").display().to_string();
    edit_config(&s.env, &format!("cacert = \"{ca}\"\n"), "");
    let out = doctor(&s.env, &s.profile);
    let stdout = failed_at(
        &out,
        6,
        "tls",
        "certificate",
        "set `cacert` for the profile",
    );
    assert!(
        stdout.contains("its certificate is checked next"),
        "{stdout}"
    );
}

#[test]
fn a_rejected_password_is_step_7_and_is_not_tried_again() {
    let s = imported(SimConfig::default());
    s.sim
        .set_password(fixture::REALM, fixture::USER, "rotated-fake-password");
    let out = doctor(&s.env, &s.profile);
    failed_at(
        &out,
        7,
        "keycloak",
        "username or password rejected by keycloak realm `pod`",
        "run `opcp-cred login` to store the right password",
    );
    assert_eq!(s.sim.counters().password_grant_failed, 1);

    // The profile is now marked needs_login: the second run reports it, sends nothing.
    let again = doctor(&s.env, &s.profile);
    failed_at(
        &again,
        7,
        "keycloak",
        "it is not retried, to keep the account from being locked",
        &format!("run `opcp-cred login --profile {}`", s.profile),
    );
    assert_eq!(
        s.sim.counters().password_grant_failed,
        1,
        "the rejected password was sent once"
    );
}

#[test]
fn a_refused_federation_is_step_8() {
    let s = imported(SimConfig::default());
    s.sim
        .set_fault(Target::FederationAuth, Some(Fault::Status(401)));
    let out = doctor(&s.env, &s.profile);
    failed_at(
        &out,
        8,
        "federation",
        "keystone refused the keycloak token for identity provider `keycloak`",
        "check the identity provider and protocol names and the mapping",
    );
}

#[test]
fn a_refused_project_is_step_9() {
    let s = imported(SimConfig::default());
    edit_config(&s.env, fixture::PROJECT_WEB_ID, fixture::PROJECT_SECRET_ID);
    let out = doctor(&s.env, &s.profile);
    failed_at(
        &out,
        9,
        "project",
        &format!("not authorised on project `{}`", fixture::PROJECT_SECRET_ID),
        "check the user's `project` attribute in keycloak",
    );
    // A typo is the likelier cause: the fix lists the user's projects first.
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("it is not among your projects")
            && stdout.contains(&format!(
                "{} ({})",
                fixture::PROJECT_WEB,
                fixture::PROJECT_WEB_ID
            )),
        "{stdout}"
    );
}

#[test]
fn a_clock_ten_minutes_off_is_step_10() {
    let s = imported(SimConfig::default());
    s.sim.set_clock_offset(600);
    let out = doctor(&s.env, &s.profile);
    failed_at(
        &out,
        10,
        "clock",
        "this host's clock is 10m behind",
        "timedatectl set-ntp true",
    );
}
