//! `opcp-cred projects` lists what the user may scope to and marks the current project;
//! `env --project-name` scopes by name.

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::SimConfig;
use opcp_cred_tests::sim::fixture::{
    DOMAIN_ID, PROJECT_DB, PROJECT_DB_ID, PROJECT_WEB, PROJECT_WEB_ID,
};

#[test]
fn projects_marks_the_configured_then_the_shell_project_and_env_scopes_by_name() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("projects");
    ok(&env.import_text(&profile, &opcp_cred_tests::env::openrc_text(&sim)));

    let listed = ok(&env.run(["projects", "--profile", &profile]));
    let line = |id: &str| {
        listed
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id} not listed:\n{listed}"))
            .to_owned()
    };
    assert!(listed.starts_with("  ID "), "{listed}");
    assert!(
        line(PROJECT_WEB_ID).starts_with('*'),
        "the configured one:\n{listed}"
    );
    assert!(line(PROJECT_WEB_ID).contains(PROJECT_WEB) && line(PROJECT_WEB_ID).contains(DOMAIN_ID));
    assert!(line(PROJECT_DB_ID).starts_with(' '), "{listed}");

    // A shell where `env --project-name db` ran marks db instead.
    let exports = ok(&env.run([
        "env",
        "--shell",
        "json",
        "--profile",
        &profile,
        "--project-name",
        PROJECT_DB,
    ]));
    let vars: serde_json::Value = serde_json::from_str(&exports).expect("json");
    assert_eq!(vars["set"]["OS_PROJECT_ID"], PROJECT_DB_ID);
    let listed = ok(&env
        .client(["projects", "--profile", &profile])
        .env("OPCP_CRED_PROFILE", &profile)
        .env("OS_PROJECT_ID", PROJECT_DB_ID)
        .output()
        .expect("run projects"));
    let db = listed
        .lines()
        .find(|l| l.contains(PROJECT_DB_ID))
        .expect("db listed");
    assert!(db.starts_with('*'), "{listed}");
}
