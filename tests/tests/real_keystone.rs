//! The whole path against the real Keystone (the current release, federated to the
//! simulator's Keycloak as an OPCP deployment is): an openrc imported, `eval $(opcp-cred env)`
//! and the real `openstack` CLI, both realms, Keystone at the root and under a path prefix,
//! the errors a person sees, and logout revoking at Keystone.

use std::time::{Duration, Instant, SystemTime};

use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::real_keystone::{KeystoneOptions, RealCloud};
use opcp_cred_tests::sim::{Fault, SimConfig, Target, fixture};

struct Fixture {
    cloud: RealCloud,
    env: TestEnv,
    profile: String,
    _daemon: DaemonGuard,
}

/// A real cloud, a daemon, and the OPCP openrc of `realm` imported as a profile.
fn imported(realm: &str, options: &KeystoneOptions) -> Fixture {
    imported_from(RealCloud::start(options), realm)
}

fn imported_from(cloud: RealCloud, realm: &str) -> Fixture {
    let env = TestEnv::new(KeyringKind::SecretService);
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile(realm);
    let out = env.import_text(&profile, &cloud.openrc(realm));
    let stdout = ok(&out);
    assert!(stdout.contains(&profile), "{stdout}");
    Fixture {
        cloud,
        env,
        profile,
        _daemon: daemon,
    }
}

impl Fixture {
    /// `eval $(opcp-cred env …)` (unquoted, as the README says), then `commands`.
    fn shell(&self, env_args: &str, commands: &str) -> std::process::Output {
        let script = format!(
            "set -e; eval $('{client}' env --profile {profile} {env_args}); \
             openstack() {{ '{os}' \"$@\"; }}; {commands}",
            client = bins::client().display(),
            profile = self.profile,
            os = bins::openstack().display(),
        );
        self.env
            .command("bash")
            .args(["-c", &script])
            .output()
            .unwrap()
    }

    fn token_issue(&self, env_args: &str) -> String {
        let out = self.shell(env_args, "openstack token issue -f value -c project_id");
        ok(&out).trim().to_owned()
    }
}

/// `openstack catalog list -f json`: (type, the URLs of its endpoints).
fn catalog(f: &Fixture) -> Vec<(String, Vec<String>)> {
    let out = f.shell("", "openstack catalog list -f json");
    let list: serde_json::Value = serde_json::from_str(&ok(&out)).expect("catalog json");
    let mut services: Vec<(String, Vec<String>)> = list
        .as_array()
        .expect("a list of services")
        .iter()
        .map(|service| {
            let urls = service["Endpoints"]
                .as_array()
                .expect("endpoints")
                .iter()
                .map(|e| e["url"].as_str().expect("url").to_owned())
                .collect();
            (service["Type"].as_str().expect("type").to_owned(), urls)
        })
        .collect();
    services.sort();
    services
}

fn check_token_and_catalog(f: &Fixture) {
    assert_eq!(f.token_issue(""), f.cloud.project_id(fixture::PROJECT_WEB));
    let identity = format!("{}/v3", f.cloud.keystone.url);
    let compute = "http://127.0.0.1:9/compute/v2.1".to_owned();
    assert_eq!(
        catalog(f),
        [
            ("compute".to_owned(), vec![compute; 3]),
            ("identity".to_owned(), vec![identity; 3]),
        ]
    );
}

#[test]
fn openrc_import_then_openstack_token_issue_and_catalog_list() {
    let f = imported(fixture::REALM, &KeystoneOptions::default());
    check_token_and_catalog(&f);
}

#[test]
fn keystone_under_a_path_prefix() {
    let options = KeystoneOptions {
        prefix: "/identity".to_owned(),
        ..KeystoneOptions::default()
    };
    let f = imported(fixture::REALM, &options);
    assert!(f.cloud.keystone.url.ends_with("/identity"));
    check_token_and_catalog(&f);
}

#[test]
fn the_master_realm_logs_in_through_keycloak_admin() {
    let f = imported(fixture::ADMIN_REALM, &KeystoneOptions::default());
    assert_eq!(f.token_issue(""), f.cloud.project_id(fixture::PROJECT_WEB));
}

#[test]
fn a_second_project_is_scoped_from_the_same_login() {
    let f = imported(fixture::REALM, &KeystoneOptions::default());
    f.cloud.sim.reset_counters();
    let db = f.cloud.project_id(fixture::PROJECT_DB);
    assert_eq!(f.token_issue(&format!("--project-id {db}")), db);
    let counters = f.cloud.sim.counters();
    assert_eq!(
        counters.password_grant_ok + counters.refresh_grant,
        0,
        "no second keycloak login: {counters:?}"
    );
    let projects = ok(&f.env.run(["projects", "--profile", &f.profile]));
    for name in [fixture::PROJECT_WEB, fixture::PROJECT_DB] {
        assert!(projects.contains(f.cloud.project_id(name)), "{projects}");
    }
    let secret = f.cloud.project_id(fixture::PROJECT_SECRET);
    assert!(!projects.contains(secret), "{projects}");
}

/// An import that fails with exit code 4, says `phrases` and stores nothing.
fn refused(f: &Fixture, openrc: &str, phrases: &[&str]) {
    let profile = f.env.profile("refused");
    let out = f.env.import_text(&profile, openrc);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let said = stderr.to_lowercase();
    for phrase in phrases {
        assert!(said.contains(phrase), "`{phrase}` missing from:\n{stderr}");
    }
    assert_eq!(f.env.keyring.read(&format!("{profile}/password")), None);
}

#[test]
fn a_wrong_project_and_an_unknown_identity_provider_give_their_messages() {
    let f = imported(fixture::REALM, &KeystoneOptions::default());
    let openrc = f.cloud.openrc(fixture::REALM);
    let [web, db, secret] = [
        fixture::PROJECT_WEB,
        fixture::PROJECT_DB,
        fixture::PROJECT_SECRET,
    ]
    .map(|name| f.cloud.project_id(name));
    let project = |id: &str| openrc.replace(web, id);
    refused(
        &f,
        &project(secret),
        &["not authorised on project", secret, web, db],
    );
    refused(
        &f,
        &project(fixture::PROJECT_DB),
        &["is the name of a project", db],
    );
    let idp = |name: &str| {
        openrc.replace(
            "OS_IDENTITY_PROVIDER=keycloak\n",
            &format!("OS_IDENTITY_PROVIDER={name}\n"),
        )
    };
    refused(&f, &idp("nope"), &["knows no identity provider `nope`"]);
    // A token of realm pod is not one of keycloak-admin's: Keystone says 403.
    refused(&f, &idp(fixture::ADMIN_IDP), &["keycloak-admin", "mapping"]);
}

#[test]
fn logout_revokes_the_tokens_at_keystone() {
    let f = imported(fixture::REALM, &KeystoneOptions::default());
    let out = f.shell("", "echo \"$OS_TOKEN\"");
    let token = ok(&out).trim().to_owned();
    let issue = |token: &str| {
        f.env
            .command(bins::openstack())
            .args(["token", "issue", "-f", "value", "-c", "project_id"])
            .env("OS_AUTH_TYPE", "token")
            .env("OS_TOKEN", token)
            .env("OS_AUTH_URL", format!("{}/v3", f.cloud.keystone.url))
            .env("OS_PROJECT_ID", f.cloud.project_id(fixture::PROJECT_WEB))
            .env("OS_IDENTITY_API_VERSION", "3")
            .output()
            .unwrap()
    };
    ok(&issue(&token));
    ok(&f.env.run(["logout", "--profile", &f.profile]));
    let out = issue(&token);
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "keystone still accepts the token");
    // Keystone cannot validate a revoked token: 404 when it is used to authenticate.
    assert!(stderr.contains("Failed to validate token"), "{stderr}");
}

/// Keystone keeps the unscoped token's expiry on the tokens scoped from it: the broker must
/// log in again before a project token's refresh, and every project's token is served fresh
/// while Keystone tokens live 12 s.
#[test]
fn two_projects_stay_fresh_while_keystone_tokens_live_seconds() {
    let lifetime = 12;
    let config = SimConfig {
        access_token_lifetime: Duration::from_secs(lifetime),
        ..SimConfig::default()
    };
    let options = KeystoneOptions {
        token_lifetime: Duration::from_secs(lifetime),
        ..KeystoneOptions::default()
    };
    let f = imported_from(RealCloud::start_with(config, &options), fixture::REALM);
    // Any call that waited on Keycloak would take this long at least.
    let upstream_delay = Duration::from_secs(1);
    f.cloud
        .sim
        .set_fault(Target::Keycloak, Some(Fault::Delay(upstream_delay)));
    let projects = [fixture::PROJECT_WEB, fixture::PROJECT_DB].map(|p| f.cloud.project_id(p));
    let mut tokens = std::collections::HashSet::new();
    let until = Instant::now() + Duration::from_secs(3 * lifetime);
    let mut polls = 0;
    while Instant::now() < until {
        for project in projects {
            let started = Instant::now();
            let (token, left) = json_env(&f, project);
            let took = started.elapsed();
            assert!(left >= Duration::from_secs(1), "{project}: {left:?} left");
            // The first call for db scopes it (Keystone only, no Keycloak).
            assert!(took < upstream_delay, "{project}: waited {took:?}");
            tokens.insert(token);
        }
        polls += 1;
        // The pace of a busy prompt, not a wait for an event.
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(polls > 30, "{polls} polls");
    assert!(tokens.len() >= 5, "renewed: {} tokens", tokens.len());
}

/// `opcp-cred env --shell json --min-valid 2s`: the token and the time it has left.
fn json_env(f: &Fixture, project: &str) -> (String, Duration) {
    let out = f.env.run([
        "env",
        "--shell",
        "json",
        "--profile",
        &f.profile,
        "--project-id",
        project,
        "--min-valid",
        "2s",
    ]);
    let vars: serde_json::Value = serde_json::from_str(&ok(&out)).expect("json exports");
    let expires: opcp_cred_proto::messages::Timestamp = vars["set"]["OPCP_CRED_EXPIRES_AT"]
        .as_str()
        .expect("expiry exported")
        .parse()
        .expect("an RFC 3339 expiry");
    let token = vars["set"]["OS_TOKEN"].as_str().expect("token").to_owned();
    (token, expires.remaining(SystemTime::now()))
}
