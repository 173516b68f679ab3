//! `eval $(opcp-cred env)` in bash, dash and zsh, unquoted (as people type it) and quoted, in a
//! shell full of a v3oidcpassword environment and dashboard leftovers.

use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{SimConfig, fixture};

/// What a user's shell holds after sourcing the old openrc and a dashboard's file.
const LEFTOVERS: &[(&str, &str)] = &[
    ("OS_AUTH_TYPE", "v3oidcpassword"),
    ("OS_PASSWORD", "old-fake-password"),
    ("OS_CLIENT_SECRET", "old-fake-secret"),
    ("OS_USERNAME", "alice"),
    ("OS_IDENTITY_PROVIDER", "keycloak"),
    ("OS_PROTOCOL", "openid"),
    ("OS_DISCOVERY_ENDPOINT", "https://keycloak.example.test/x"),
    ("OS_CLIENT_ID", "openstack-cli"),
    ("OS_USER_DOMAIN_NAME", "Default"),
    ("OS_PROJECT_NAME", "someproject"),
    ("OS_TENANT_NAME", "someproject"),
    ("OS_CLOUD", "dashboard"),
    ("OS_SYSTEM_SCOPE", "all"),
    ("OS_ENDPOINT_TYPE", "internalURL"),
    ("OS_REGION_NAME", "GRA7"),
    ("OS_CACERT", "/etc/old-cloud-ca.pem"),
];

const MUST_BE_UNSET: &[&str] = &[
    "OS_PASSWORD",
    "OS_CLIENT_SECRET",
    "OS_USERNAME",
    "OS_IDENTITY_PROVIDER",
    "OS_PROTOCOL",
    "OS_DISCOVERY_ENDPOINT",
    "OS_CLIENT_ID",
    "OS_USER_DOMAIN_NAME",
    "OS_PROJECT_NAME",
    "OS_TENANT_NAME",
    "OS_CLOUD",
    "OS_SYSTEM_SCOPE",
    "OS_ENDPOINT_TYPE",
    "OS_REGION_NAME",
    "OS_CACERT",
];

/// Print every variable we care about as NAME=value or NAME unset, one per line.
fn report_script() -> String {
    let mut names: Vec<&str> = MUST_BE_UNSET.to_vec();
    names.extend([
        "OS_AUTH_TYPE",
        "OS_TOKEN",
        "OS_AUTH_URL",
        "OS_PROJECT_ID",
        "OS_IDENTITY_API_VERSION",
        "OPCP_CRED_PROFILE",
    ]);
    names
        .iter()
        .map(|n| format!("if [ -n \"${{{n}+x}}\" ]; then printf '%s=%s\\n' {n} \"${n}\"; else echo {n} unset; fi"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn run_shell(env: &TestEnv, shell: &str, eval_line: &str) -> (bool, String) {
    let script = format!("{eval_line}\nst=$?\n{}\nexit $st", report_script());
    let mut cmd = env.command(shell);
    cmd.args(["-c", &script]);
    for (k, v) in LEFTOVERS {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn env_output_evaluates_in_bash_dash_and_zsh() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("pod");
    let openrc = env.write_openrc(&sim, "openrc.sh");
    ok(&env.run(["import", "--profile", &profile, openrc.to_str().unwrap()]));
    let token = ok(&env.run(["token", "--profile", &profile]))
        .trim()
        .to_owned();
    let client = bins::client().display().to_string();

    for shell in ["bash", "dash", "zsh"] {
        for eval_line in [
            format!("eval $('{client}' env --profile {profile})"),
            format!("eval \"$('{client}' env --profile {profile})\""),
        ] {
            let (success, report) = run_shell(&env, shell, &eval_line);
            assert!(success, "{shell}: {eval_line}\n{report}");
            for name in MUST_BE_UNSET {
                assert!(
                    report.contains(&format!("{name} unset")),
                    "{shell}: {name} still set after `{eval_line}`:\n{report}"
                );
            }
            assert!(
                report.contains(&format!("OS_TOKEN={token}\n")),
                "{shell}:\n{report}"
            );
            assert!(
                report.contains("OS_AUTH_TYPE=token\n"),
                "{shell}:\n{report}"
            );
            assert!(
                report.contains(&format!("OS_PROJECT_ID={}\n", fixture::PROJECT_WEB_ID)),
                "{shell}:\n{report}"
            );
            assert!(
                report.contains("OS_IDENTITY_API_VERSION=3\n"),
                "{shell}:\n{report}"
            );
            assert!(
                report.contains(&format!("OPCP_CRED_PROFILE={profile}\n")),
                "{shell}:\n{report}"
            );
            assert!(
                report.contains(&format!("OS_AUTH_URL={}/v3\n", sim.keystone_url())),
                "{shell}:\n{report}"
            );
        }

        // A failing env prints nothing on stdout: the shell keeps what it had.
        let failing = format!("eval $('{client}' env --profile no-such-profile)");
        let (_, report) = run_shell(&env, shell, &failing);
        for (name, value) in LEFTOVERS {
            assert!(
                report.contains(&format!("{name}={value}\n")),
                "{shell}: {name} changed by a failing env:\n{report}"
            );
        }
        assert!(report.contains("OS_TOKEN unset"), "{shell}:\n{report}");
    }
}
