//! Proxies: the daemon's upstream traffic goes through `https_proxy` (upper or lower case) from
//! its own environment, or through the profile's `proxy`; `no_proxy` bypasses either; and
//! `doctor` warns when the shell has a proxy that the daemon lacks. A real proxy on loopback
//! records what went through it.

use std::io::Write as _;
use std::process::{Output, Stdio};

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::proxy::{Passed, TestProxy};
use opcp_cred_tests::sim::{SimConfig, fixture};

/// `127.0.0.1:PORT` of a simulator URL.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

fn tls_sim() -> SimGuard {
    SimGuard::start(SimConfig {
        tls: true,
        ..SimConfig::default()
    })
}

/// `import` of the fixture openrc, with the simulator's CA when it has one.
fn import(env: &TestEnv, sim: &SimGuard) -> String {
    let profile = env.profile("proxy");
    ok(&env.import_text(&profile, &env.openrc_trusting(sim)));
    profile
}

/// `login --proxy URL` with every setting on the command line and the secrets on stdin.
fn login_with_proxy(env: &TestEnv, sim: &SimGuard, profile: &str, proxy: &str) -> Output {
    let (keystone, discovery) = (sim.keystone_url(), sim.discovery_url(fixture::REALM));
    let mut child = env
        .client([
            "login",
            "--profile",
            profile,
            "--auth-url",
            &keystone,
            "--identity-provider",
            fixture::IDP,
            "--discovery-endpoint",
            &discovery,
            "--client-id",
            fixture::CLIENT_ID,
            "--username",
            fixture::USER,
            "--project-id",
            fixture::PROJECT_WEB_ID,
            "--proxy",
            proxy,
            "--password-stdin",
            "--client-secret-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run opcp-cred login");
    let secrets = format!("{}\n{}\n", fixture::PASSWORD, fixture::CLIENT_SECRET);
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(secrets.as_bytes())
        .expect("write the secrets");
    child.wait_with_output().expect("wait for opcp-cred login")
}

/// The proxy carried traffic to both Keycloak and Keystone.
fn carried_both(proxy: &TestProxy, sim: &SimGuard) {
    for url in [sim.keycloak_url(), sim.keystone_url()] {
        assert!(
            proxy.carried(&authority(&url)),
            "nothing for {url} went through the proxy: {:?}",
            proxy.passed()
        );
    }
}

#[test]
fn https_proxy_in_the_daemons_environment_tunnels_its_traffic() {
    let sim = tls_sim();
    let proxy = TestProxy::start();
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start_with_env(&env, &[("HTTPS_PROXY", &proxy.url())]);
    let profile = import(&env, &sim);
    carried_both(&proxy, &sim);
    assert!(
        proxy
            .passed()
            .iter()
            .all(|p| matches!(p, Passed::Tunnel(_))),
        "https goes through CONNECT: {:?}",
        proxy.passed()
    );
    ok(&env.run(["projects", "--profile", &profile]));
    let tunnels = proxy.passed().len();

    // The shell has a proxy and so has the daemon: doctor names it and does not warn.
    let out = env
        .client(["doctor", "--profile", &profile])
        .env("https_proxy", proxy.url())
        .output()
        .expect("run doctor");
    let stdout = ok(&out);
    assert!(
        stdout.contains(&format!(
            "proxy: from the daemon's environment: HTTPS_PROXY={}",
            proxy.url()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("warning"), "{stdout}");
    assert!(
        proxy.passed().len() > tunnels,
        "doctor's fresh connections went through the proxy too"
    );
}

#[test]
fn no_proxy_in_the_daemons_environment_bypasses_https_proxy() {
    let sim = tls_sim();
    let proxy = TestProxy::start();
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start_with_env(
        &env,
        &[("https_proxy", &proxy.url()), ("no_proxy", "127.0.0.1")],
    );
    let profile = import(&env, &sim);
    ok(&env.run(["token", "--profile", &profile]));
    assert_eq!(proxy.passed(), [], "127.0.0.1 is in no_proxy");
}

#[test]
fn a_profile_proxy_carries_that_profiles_traffic() {
    let sim = SimGuard::start(SimConfig::default());
    let proxy = TestProxy::start();
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("viaproxy");
    ok(&login_with_proxy(&env, &sim, &profile, &proxy.url()));
    let config = std::fs::read_to_string(env.config_path()).expect("config.toml");
    assert!(
        config.contains(&format!("proxy = \"{}\"", proxy.url())),
        "{config}"
    );
    carried_both(&proxy, &sim);
    assert!(
        proxy
            .passed()
            .iter()
            .all(|p| matches!(p, Passed::Forward(_))),
        "plain http is forwarded: {:?}",
        proxy.passed()
    );

    // Another profile without `proxy` goes direct.
    let before = proxy.passed().len();
    let direct = import(&env, &sim);
    ok(&env.run(["token", "--profile", &direct]));
    assert_eq!(proxy.passed().len(), before, "{:?}", proxy.passed());

    let stdout = ok(&env.run(["doctor", "--profile", &profile]));
    assert!(
        stdout.contains(&format!("proxy: the profile's proxy {}", proxy.url())),
        "{stdout}"
    );
    assert!(
        proxy.passed().len() > before,
        "doctor went through the proxy"
    );
}

#[test]
fn no_proxy_in_the_daemons_environment_bypasses_a_profile_proxy() {
    let sim = SimGuard::start(SimConfig::default());
    let proxy = TestProxy::start();
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start_with_env(&env, &[("NO_PROXY", "127.0.0.1")]);
    let profile = env.profile("bypass");
    ok(&login_with_proxy(&env, &sim, &profile, &proxy.url()));
    assert_eq!(proxy.passed(), [], "127.0.0.1 is in NO_PROXY");
}

#[test]
fn doctor_warns_when_the_shell_has_a_proxy_and_the_daemon_does_not() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profile = import(&env, &sim);
    let out = env
        .client(["doctor", "--profile", &profile])
        .env(
            "https_proxy",
            "http://carol:fake-proxy-pass@proxy.example.test:3128",
        )
        .output()
        .expect("run doctor");
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning is no failure\n{stdout}{stderr}"
    );
    let warning = stdout
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_else(|| panic!("no warning:\n{stdout}"));
    assert!(
        warning.contains("this shell sets https_proxy=http://***@proxy.example.test:3128"),
        "{warning}"
    );
    assert!(warning.contains("started by systemd"), "{warning}");
    assert!(
        warning.contains(&format!("opcp-cred login --profile {profile} --proxy URL")),
        "{warning}"
    );
    assert!(
        !stdout.contains("fake-proxy-pass") && !stderr.contains("fake-proxy-pass"),
        "proxy credentials shown"
    );

    let json = env
        .client(["doctor", "--json", "--profile", &profile])
        .env("HTTPS_PROXY", "http://proxy.example.test:3128")
        .output()
        .expect("run doctor --json");
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(report["daemon_proxy_env"], serde_json::json!([]));
    assert!(
        report["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("HTTPS_PROXY=http://proxy.example.test:3128")),
        "{report}"
    );
}
