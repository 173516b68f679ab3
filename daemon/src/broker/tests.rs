//! The broker against the simulator, in process: single flight, rescoping without Keycloak,
//! no retry of a rejected password, nothing stored when verification fails, doctor.

use std::sync::Arc;
use std::time::Duration;

use opcp_cred_proto::doctor::{DoctorRequest, Step};
use opcp_cred_proto::messages::{ProfileConfig, ProjectSelector, PutProfile, TokenRequest};
use opcp_cred_proto::{ErrorKind, Secret};
use opcp_cred_tests::sim::{Counters, Fault, Sim, SimConfig, Target, fixture};

use super::Broker;
use crate::config::ConfigFile;
use crate::store::{MemoryStore, SecretKind, SecretStore};

struct Fixture {
    sim: Sim,
    broker: Arc<Broker>,
    store: Arc<MemoryStore>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let sim = Sim::start(SimConfig::default()).await.expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Arc::new(ConfigFile::open(dir.path().join("config.toml")));
    let store = Arc::new(MemoryStore::new());
    let broker = Arc::new(Broker::with_store(config, store.clone()));
    Fixture {
        sim,
        broker,
        store,
        _dir: dir,
    }
}

/// A new broker on the same config and store: a cold cache, as after a restart.
fn cold_broker(f: &Fixture) -> Arc<Broker> {
    let config = ConfigFile::open(f.broker.config().path().to_owned());
    Arc::new(Broker::with_store(Arc::new(config), f.store.clone()))
}

fn profile_config(sim: &Sim) -> ProfileConfig {
    ProfileConfig {
        project_id: Some(fixture::PROJECT_WEB_ID.into()),
        ..ProfileConfig::new(
            sim.keystone_url(),
            fixture::IDP,
            sim.discovery_url(fixture::REALM),
            fixture::CLIENT_ID,
            fixture::USER,
        )
    }
}

fn put(sim: &Sim, password: &str) -> PutProfile {
    PutProfile {
        config: profile_config(sim),
        password: Secret::new(password),
        client_secret: Secret::new(fixture::CLIENT_SECRET),
        make_default: true,
    }
}

fn request(project: Option<&str>) -> TokenRequest {
    TokenRequest {
        profile: Some("pod".into()),
        project: project.map(|id| ProjectSelector::Id { id: id.into() }),
        ..TokenRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_logs_in_once_and_the_next_token_is_a_cache_hit() {
    let f = fixture().await;
    f.broker
        .put_profile("pod", put(&f.sim, fixture::PASSWORD))
        .await
        .expect("put");
    assert_eq!(f.sim.counters().password_grant_ok, 1);
    let stored = f
        .store
        .get("pod", SecretKind::Password)
        .expect("store")
        .expect("stored");
    assert_eq!(stored.expose(), fixture::PASSWORD);

    f.sim.reset_counters();
    let token = answer(&f.broker.token(request(None)).await.expect("token"));
    assert_eq!(token.project_id, fixture::PROJECT_WEB_ID);
    assert_eq!(f.sim.counters(), Counters::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_flow_and_rescoping_skips_keycloak() {
    let f = fixture().await;
    f.broker
        .put_profile("pod", put(&f.sim, fixture::PASSWORD))
        .await
        .expect("put");
    let broker = cold_broker(&f);
    f.sim.reset_counters();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let broker = broker.clone();
            tokio::spawn(async move { broker.token(request(None)).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(answer(&task.await.expect("task").expect("token")).token);
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    let counters = f.sim.counters();
    assert_eq!(
        (
            counters.password_grant_ok,
            counters.federation_auth,
            counters.scope
        ),
        (1, 1, 1),
        "{counters:?}"
    );

    let db = answer(
        &broker
            .token(request(Some(fixture::PROJECT_DB_ID)))
            .await
            .expect("second project"),
    );
    assert_eq!(db.project_id, fixture::PROJECT_DB_ID);
    let counters = f.sim.counters();
    assert_eq!(
        (
            counters.password_grant_ok,
            counters.federation_auth,
            counters.scope
        ),
        (1, 1, 2),
        "{counters:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_password_is_not_retried() {
    let f = fixture().await;
    f.broker
        .put_profile("pod", put(&f.sim, fixture::PASSWORD))
        .await
        .expect("put");
    f.sim
        .set_password(fixture::REALM, fixture::USER, "rotated-fake-password");
    let cold = cold_broker(&f);
    f.sim.reset_counters();
    let first = cold.token(request(None)).await.expect_err("rejected");
    assert_eq!(first.kind(), ErrorKind::AuthRejected, "{first:?}");
    let second = cold.token(request(None)).await.expect_err("still rejected");
    assert_eq!(second.kind(), ErrorKind::LoginRequired, "{second:?}");
    assert!(
        second
            .0
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("opcp-cred login")
    );
    assert_eq!(
        f.sim.counters().password_grant_failed,
        1,
        "one attempt only"
    );
    // A broker that still has a valid token keeps serving it.
    f.broker.token(request(None)).await.expect("cached token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_stored_when_verification_fails() {
    let f = fixture().await;
    let err = f
        .broker
        .put_profile("pod", put(&f.sim, "wrong-fake-password"))
        .await
        .expect_err("rejected");
    assert_eq!(err.kind(), ErrorKind::AuthRejected);
    assert!(
        f.store
            .get("pod", SecretKind::Password)
            .expect("store")
            .is_none()
    );
    assert!(f.broker.config().current().profiles.is_empty());
}

/// The token answer's body, parsed as a client would.
fn answer(body: &[u8]) -> opcp_cred_proto::messages::TokenResponse {
    serde_json::from_slice(body).expect("a token response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_is_answered_with_the_same_rendered_body() {
    let f = fixture().await;
    f.broker
        .put_profile("pod", put(&f.sim, fixture::PASSWORD))
        .await
        .expect("put");
    let first = f.broker.token(request(None)).await.expect("token");
    let second = f.broker.token(request(None)).await.expect("token");
    assert_eq!(first, second);
    // Not a copy: the cached body itself.
    assert_eq!(first.as_ptr(), second.as_ptr());
    assert_eq!(answer(&second).profile, "pod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_without_a_project_lists_them_and_leaves_no_token_behind() {
    let f = fixture().await;
    let mut unscoped = put(&f.sim, fixture::PASSWORD);
    unscoped.config.project_id = None;
    f.broker.put_profile("pod", unscoped).await.expect("put");
    f.sim.reset_counters();
    let report = f.broker.doctor(DoctorRequest::default()).await;
    let failed = report.first_failure().expect("the project step fails");
    assert_eq!(failed.step, Step::Project, "{report:?}");
    assert_eq!(failed.kind, Some(ErrorKind::NoProject));
    let fix = failed.fix.as_deref().unwrap_or_default();
    assert!(fix.contains(fixture::PROJECT_WEB_ID), "{fix}");
    assert_eq!(
        report.profile.as_deref(),
        Some("pod"),
        "the default profile"
    );
    assert_eq!(report.exit_code(), 19);
    let counters = f.sim.counters();
    assert_eq!(counters.password_grant_ok, 1, "{counters:?}");
    assert_eq!(counters.revoke, 1, "the unscoped token: {counters:?}");
    assert!(
        f.broker.profile_status()[0].last_error.is_none(),
        "doctor does not change the profile's health"
    );
}

/// Edit profile `pod` in config.toml as a person would, through the file.
fn edit(f: &Fixture, change: impl FnOnce(&mut ProfileConfig)) {
    let mut config = f.broker.config().current().profiles["pod"].clone();
    change(&mut config);
    f.broker
        .config()
        .put_profile("pod", &config, true)
        .expect("config written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_keeps_the_login_keeps_the_tokens() {
    let f = fixture().await;
    f.broker
        .put_profile("pod", put(&f.sim, fixture::PASSWORD))
        .await
        .expect("put");
    let before = answer(&f.broker.token(request(None)).await.expect("token"));
    f.sim.reset_counters();
    edit(&f, |config| {
        config.region_name = Some("RegionTwo".into());
        config.refresh_at = Some(80);
    });
    let after = answer(&f.broker.token(request(None)).await.expect("token"));
    assert_eq!(after.token.expose(), before.token.expose());
    assert_eq!(
        after.region_name.as_deref(),
        Some("RegionTwo"),
        "rendered anew"
    );
    assert_eq!(f.sim.counters(), Counters::default(), "no login, no scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_password_stays_rejected_after_an_edit() {
    let f = fixture().await;
    f.broker
        .put_profile("pod", put(&f.sim, fixture::PASSWORD))
        .await
        .expect("put");
    f.sim
        .set_password(fixture::REALM, fixture::USER, "rotated-fake-password");
    let cold = cold_broker(&f);
    let first = cold.token(request(None)).await.expect_err("rejected");
    assert_eq!(first.kind(), ErrorKind::AuthRejected, "{first:?}");
    edit(&f, |config| config.refresh_at = Some(80));
    let after_edit = cold.token(request(None)).await.expect_err("not retried");
    assert_eq!(
        after_edit.kind(),
        ErrorKind::LoginRequired,
        "{after_edit:?}"
    );
    assert_eq!(
        f.sim.counters().password_grant_failed,
        1,
        "one attempt only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_fetched_during_logout_is_revoked_not_served() {
    let f = fixture().await;
    f.broker
        .put_profile("pod", put(&f.sim, fixture::PASSWORD))
        .await
        .expect("put");
    f.sim.reset_counters();
    f.sim.set_fault(
        Target::KeystoneTokens,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let broker = f.broker.clone();
    let fetch =
        tokio::spawn(async move { broker.token(request(Some(fixture::PROJECT_DB_ID))).await });
    while f.sim.counters().delayed == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let logout = f.broker.delete_profile("pod").await.expect("logout");
    let late = fetch.await.expect("task").expect_err("not served");
    assert_eq!(late.kind(), ErrorKind::ProfileNotFound, "{late:?}");
    assert!(late.to_string().contains("logged out"), "{late}");
    let counters = f.sim.counters();
    // The session and the first project's token at logout, then the late one.
    assert_eq!(logout.revoked, 2, "{logout:?}");
    assert_eq!(counters.revoke, 3, "{counters:?}");
}

#[test]
fn the_login_step_of_a_hint_is_replaced_whole() {
    use super::profile::replace_login_step;
    let step = "run `opcp-cred login --profile pod`";
    assert_eq!(
        replace_login_step("check it, then run `opcp-cred login` (twice)", step),
        "check it, then run `opcp-cred login --profile pod` (twice)"
    );
    assert_eq!(
        replace_login_step("run `opcp-cred login --profile x`", "again"),
        "again"
    );
    assert_eq!(replace_login_step("nothing to do", step), "nothing to do");
}

#[test]
fn the_login_step_and_the_rest_of_its_line_can_go_together() {
    use super::profile::replace_login_step_to_line_end;
    assert_eq!(
        replace_login_step_to_line_end(
            "check it, then run `opcp-cred login` to store it\n  note: x",
            "again"
        ),
        "check it, then again\n  note: x"
    );
    assert_eq!(
        replace_login_step_to_line_end("nothing to do", "again"),
        "nothing to do"
    );
}
