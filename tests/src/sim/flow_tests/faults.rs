//! Faults, the clock, TLS, shutdown and the openrc.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::{federate, federation_url, login, password_grant, start};
use crate::sim::fixture::{CLIENT_ID, CLIENT_SECRET, IDP, PASSWORD, PROJECT_WEB_ID, REALM, USER};
use crate::sim::{Fault, Sim, SimConfig, Target};

#[tokio::test]
async fn date_header_follows_the_clock() {
    let (sim, http) = start(SimConfig::default()).await;
    sim.set_clock_offset(400 * 86_400 * 365);
    let response = http.get(sim.discovery_url(REALM)).send().await.unwrap();
    let date = response.headers()["date"].to_str().unwrap().to_owned();
    assert!(date.ends_with(" GMT"));
    assert!(
        !date.contains(" 202"),
        "{date} should be four centuries ahead"
    );
}

#[tokio::test]
async fn status_delay_and_drop_faults() {
    let (sim, http) = start(SimConfig::default()).await;
    sim.set_fault(Target::KeycloakToken, Some(Fault::Status(503)));
    let (status, body) = password_grant(
        &sim,
        &http,
        REALM,
        (CLIENT_ID, CLIENT_SECRET),
        (USER, PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(
        sim.counters().password_grant_failed,
        0,
        "faulted requests are not counted"
    );
    assert_eq!(
        http.get(sim.discovery_url(REALM))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    sim.set_fault(Target::KeycloakToken, None);

    sim.set_fault(Target::Keystone, Some(Fault::Status(503)));
    let response = http.get(sim.keystone_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["title"], "Service Unavailable");
    sim.set_fault(Target::Keystone, None);

    sim.set_fault(
        Target::Discovery,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let started = Instant::now();
    assert_eq!(
        http.get(sim.discovery_url(REALM))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    sim.set_fault(Target::FederationAuth, Some(Fault::Drop));
    let dropped = http
        .post(federation_url(&sim, IDP))
        .bearer_auth("x")
        .send()
        .await;
    let error = dropped.expect_err("the connection is closed without an answer");
    assert!(!error.is_connect() && !error.is_status(), "{error:?}");
    assert_eq!(sim.counters().federation_auth, 0);
}

#[tokio::test]
async fn refuse_fault_closes_and_reopens_the_port() {
    let (sim, http) = start(SimConfig::default()).await;
    sim.set_fault(Target::Keycloak, Some(Fault::Refuse));
    let refused = http
        .get(sim.discovery_url(REALM))
        .send()
        .await
        .expect_err("refused");
    assert!(refused.is_connect(), "{refused:?}");
    // The other server is untouched.
    assert_eq!(
        http.get(sim.keystone_url()).send().await.unwrap().status(),
        StatusCode::MULTIPLE_CHOICES
    );
    sim.set_fault(Target::Keycloak, None);
    assert_eq!(
        http.get(sim.discovery_url(REALM))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Twice, to be sure the reopened socket can be closed again.
    sim.set_fault(Target::KeycloakToken, Some(Fault::Refuse));
    assert!(
        http.get(sim.discovery_url(REALM))
            .send()
            .await
            .unwrap_err()
            .is_connect()
    );
    sim.set_fault(Target::KeycloakToken, None);
    assert_eq!(
        http.get(sim.discovery_url(REALM))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn tls_needs_the_ca() {
    let config = SimConfig {
        tls: true,
        ..SimConfig::default()
    };
    let (sim, untrusting) = start(config).await;
    assert!(sim.keycloak_url().starts_with("https://"));
    let error = untrusting
        .get(sim.discovery_url(REALM))
        .send()
        .await
        .expect_err("untrusted certificate");
    assert!(error.is_connect(), "{error:?}");

    let ca = reqwest::Certificate::from_pem(sim.ca_pem().unwrap().as_bytes()).unwrap();
    let trusting = Client::builder().tls_certs_only([ca]).build().unwrap();
    let discovery: Value = trusting
        .get(sim.discovery_url(REALM))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        discovery["issuer"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
    let jwt = login(&sim, &trusting, REALM, USER).await;
    assert_eq!(
        federate(&sim, &trusting, IDP, &jwt).await.0,
        StatusCode::CREATED
    );
    let localhost = sim.keystone_url().replace("127.0.0.1", "localhost");
    assert_eq!(
        trusting.get(localhost).send().await.unwrap().status(),
        StatusCode::MULTIPLE_CHOICES
    );
}

#[tokio::test]
async fn dropping_the_sim_stops_the_servers() {
    let (sim, http) = start(SimConfig::default()).await;
    let url = sim.discovery_url(REALM);
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    drop(sim);
    // The accept loop may need a moment to see the shutdown; poll instead of sleeping.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http.get(&url).send().await {
            Err(error) if error.is_connect() => break,
            _ if Instant::now() > deadline => panic!("the simulator still answers after drop"),
            _ => tokio::task::yield_now().await,
        }
    }
}

#[test]
fn openrc_names_the_fixture() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(Sim::start(SimConfig::default())).unwrap();
    let openrc = sim.openrc(None);
    assert!(openrc.contains("export OS_AUTH_TYPE=v3oidcpassword\n"));
    assert!(openrc.contains(&format!("export OS_AUTH_URL={}/v3\n", sim.keystone_url())));
    assert!(openrc.contains(&format!("export OS_PROJECT_ID={PROJECT_WEB_ID}\n")));
    assert!(!openrc.contains("OS_CACERT"));
    // set_fault works from a thread outside the runtime.
    sim.set_fault(Target::Keystone, Some(Fault::Refuse));
    sim.set_fault(Target::Keystone, None);
}
