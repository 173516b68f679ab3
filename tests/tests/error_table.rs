//! Each row of DESIGN.md's error table: what the user sees and the exit code, with nothing
//! stored after a failed import.

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, openrc_text, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{SimConfig, fixture};

struct Row {
    name: &'static str,
    /// (from, to) replacements in the fixture openrc.
    edits: Vec<(String, String)>,
    exit_code: i32,
    /// Phrases the message + hint must contain (lower-case).
    says: &'static [&'static str],
}

fn edit(from: &str, to: &str) -> (String, String) {
    (from.to_owned(), to.to_owned())
}

fn check(env: &TestEnv, sim: &SimGuard, row: &Row) {
    let mut openrc = openrc_text(sim);
    for (from, to) in &row.edits {
        assert!(
            openrc.contains(from.as_str()),
            "{}: fixture has no `{from}`",
            row.name
        );
        openrc = openrc.replace(from.as_str(), to);
    }
    let profile = env.profile("err");
    let out = env.import_text(&profile, &openrc);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(row.exit_code),
        "{}: {stderr}",
        row.name
    );
    assert!(
        stdout.is_empty(),
        "{}: stdout must stay empty: {stdout}",
        row.name
    );
    let said = stderr.to_lowercase();
    for phrase in row.says {
        assert!(
            said.contains(phrase),
            "{}: `{phrase}` missing from:\n{stderr}",
            row.name
        );
    }
    assert!(
        !stderr.contains(fixture::PASSWORD) && !stderr.contains(fixture::CLIENT_SECRET),
        "{}: secret in the message",
        row.name
    );
    assert_eq!(
        env.keyring.read(&format!("{profile}/password")),
        None,
        "{}: nothing stored",
        row.name
    );
}

#[test]
fn every_row_of_the_error_table() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let secret = format!("OS_CLIENT_SECRET={}", fixture::CLIENT_SECRET);
    let password = format!("OS_PASSWORD={}", fixture::PASSWORD);
    let project = format!("OS_PROJECT_ID={}", fixture::PROJECT_WEB_ID);
    let rows = [
        Row {
            name: "invalid_client",
            edits: vec![edit(&secret, "OS_CLIENT_SECRET=wrong-fake-secret")],
            exit_code: 4,
            says: &["client", "credentials tab"],
        },
        Row {
            name: "invalid user credentials",
            edits: vec![edit(&password, "OS_PASSWORD=wrong-fake-password")],
            exit_code: 4,
            says: &["username or password rejected", "pod"],
        },
        Row {
            name: "unauthorized_client",
            edits: vec![edit(
                &format!("OS_CLIENT_ID={}", fixture::CLIENT_ID),
                &format!("OS_CLIENT_ID={}", fixture::NO_DAG_CLIENT_ID),
            )],
            exit_code: 4,
            says: &["direct access grants"],
        },
        Row {
            name: "account not fully set up",
            edits: vec![edit(
                &format!("OS_USERNAME={}", fixture::USER),
                &format!("OS_USERNAME={}", fixture::USER_REQUIRED_ACTIONS),
            )],
            exit_code: 4,
            says: &["required actions", "browser"],
        },
        Row {
            name: "discovery",
            edits: vec![edit("/realms/pod/", "/realms/no-such-realm/")],
            exit_code: 6,
            says: &["discovery failed", "realm"],
        },
        Row {
            name: "keystone refuses the keycloak token",
            edits: vec![edit(
                "OS_IDENTITY_PROVIDER=keycloak\n",
                "OS_IDENTITY_PROVIDER=keycloak-admin\n",
            )],
            exit_code: 4,
            says: &["keycloak-admin", "mapping"],
        },
        Row {
            name: "not authorised on the project",
            edits: vec![edit(
                &project,
                &format!("OS_PROJECT_ID={}", fixture::PROJECT_SECRET_ID),
            )],
            exit_code: 4,
            says: &[
                "not authorised on project",
                fixture::PROJECT_SECRET_ID,
                fixture::PROJECT_WEB_ID,
            ],
        },
        Row {
            name: "a project name given as its id",
            edits: vec![edit(
                &project,
                &format!("OS_PROJECT_ID={}", fixture::PROJECT_DB),
            )],
            exit_code: 4,
            says: &["is the name of a project", fixture::PROJECT_DB_ID],
        },
    ];
    for row in &rows {
        check(&env, &sim, row);
    }
}

#[test]
fn untrusted_certificate_then_cacert() {
    let sim = SimGuard::start(SimConfig {
        tls: true,
        ..SimConfig::default()
    });
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    check(
        &env,
        &sim,
        &Row {
            name: "tls",
            edits: vec![],
            exit_code: 6,
            says: &["certificate", "cacert"],
        },
    );
    let ca = env.path("ca.pem");
    std::fs::write(&ca, sim.ca_pem().expect("a TLS simulator has a CA")).unwrap();
    let openrc = format!("{}export OS_CACERT={}\n", openrc_text(&sim), ca.display());
    let profile = env.profile("tls");
    ok(&env.import_text(&profile, &openrc));
    let exports = ok(&env.run(["env", "--profile", &profile]));
    assert!(
        exports.contains(&format!("OS_CACERT='{}';", ca.display())),
        "{exports}"
    );
}
