//! `opcp-cred login` as a wizard on a real (pseudo-)terminal: every answer typed at its
//! prompt, the secrets not echoed, the project picked from the list Keystone gives, and then
//! a working `env` and `openstack`.

use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::pty::Pty;
use opcp_cred_tests::sim::SimConfig;
use opcp_cred_tests::sim::fixture::{
    CLIENT_ID, CLIENT_SECRET, IDP, PASSWORD, PROJECT_DB, PROJECT_DB_ID, PROJECT_WEB, USER,
};

#[test]
fn login_asks_everything_hides_the_secrets_and_offers_the_projects() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("wizard");

    let mut command = env.command("setsid");
    command
        .arg("--ctty")
        .arg(bins::client())
        .args(["login", "--profile", &profile]);
    let mut term = Pty::spawn(command);
    // The OPCP guide's order: the client's id and secret, then the user's name and password.
    // Secrets are typed where echo is off; an empty answer is asked again.
    let steps = [
        ("or a Keystone URL: ", sim.keystone_url(), false),
        ("Keystone identity provider: ", IDP.to_owned(), false),
        ("OIDC discovery URL: ", sim.discovery_url("pod"), false),
        ("Keycloak client id: ", CLIENT_ID.to_owned(), false),
        ("Keycloak client secret: ", CLIENT_SECRET.to_owned(), true),
        ("Keycloak user name: ", String::new(), false),
        ("an answer is needed", USER.to_owned(), false),
        ("Keycloak password: ", PASSWORD.to_owned(), true),
    ];
    for (prompt, answer, hidden) in steps {
        term.expect(prompt);
        if hidden {
            term.wait_for_hidden_input();
        }
        term.type_line(&answer);
    }
    let list = term.expect("a name or an id): ");
    assert!(
        list.contains(PROJECT_WEB) && list.contains(PROJECT_DB),
        "the projects are offered:\n{list}"
    );
    term.type_line(PROJECT_DB);
    let (status, rest) = term.finish();
    assert!(status.success(), "login failed: {rest}");
    assert!(
        rest.contains(&format!("eval $(opcp-cred env --profile {profile})")),
        "{rest}"
    );
    assert!(rest.contains(&format!("project {PROJECT_DB_ID}")), "{rest}");

    for secret in [PASSWORD, CLIENT_SECRET] {
        assert!(
            !list.contains(secret) && !rest.contains(secret),
            "a secret was echoed"
        );
    }
    assert_eq!(
        env.keyring.read(&format!("{profile}/password")).as_deref(),
        Some(PASSWORD)
    );

    let exports = ok(&env.run(["env", "--shell", "json", "--profile", &profile]));
    let vars: serde_json::Value = serde_json::from_str(&exports).expect("json exports");
    assert_eq!(vars["set"]["OS_PROJECT_ID"], PROJECT_DB_ID);
    let issued = ok(&env
        .client(["exec", "--profile", &profile, "--"])
        .arg(bins::openstack())
        .args(["token", "issue", "-f", "value", "-c", "project_id"])
        .output()
        .expect("run openstack through exec"));
    assert_eq!(issued.trim(), PROJECT_DB_ID);
}
