//! The simulator driven over real sockets with reqwest, as a client would: the whole login
//! flow and every error row ([`login`]), faults, TLS and lifecycle ([`faults`]). The
//! helpers below speak the wire protocol the way the daemon and keystoneauth do.

mod faults;
mod login;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::fixture::{CLIENT_ID, CLIENT_SECRET, IDP, PASSWORD, PROTOCOL, REALM, USER};
use super::{Sim, SimConfig};

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // No pooling: every request opens its own connection, so faults that act on
    // connections (drop, refuse) hit the request that follows them.
    Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("build a reqwest client")
}

async fn start(config: SimConfig) -> (Sim, Client) {
    (
        Sim::start(config).await.expect("start the simulator"),
        client(),
    )
}

fn token_url(sim: &Sim, realm: &str) -> String {
    format!(
        "{}/realms/{realm}/protocol/openid-connect/token",
        sim.keycloak_url()
    )
}

fn federation_url(sim: &Sim, idp: &str) -> String {
    let base = sim.keystone_url();
    format!("{base}/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{PROTOCOL}/auth")
}

/// A password grant with `client_secret_basic`; returns the status and the JSON body.
async fn password_grant(
    sim: &Sim,
    http: &Client,
    realm: &str,
    (client_id, secret): (&str, &str),
    (user, password): (&str, &str),
) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "password"),
        ("username", user),
        ("password", password),
        ("scope", "openid profile"),
    ];
    let response = http
        .post(token_url(sim, realm))
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .expect("reach Keycloak");
    (
        response.status(),
        response.json().await.expect("a JSON body"),
    )
}

async fn login(sim: &Sim, http: &Client, realm: &str, user: &str) -> String {
    let credentials = (CLIENT_ID, CLIENT_SECRET);
    let (status, body) = password_grant(sim, http, realm, credentials, (user, PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// Federation auth; returns the status, `X-Subject-Token` and the body.
async fn federate(sim: &Sim, http: &Client, idp: &str, jwt: &str) -> (StatusCode, String, Value) {
    let response = http
        .post(federation_url(sim, idp))
        .bearer_auth(jwt)
        .send()
        .await
        .expect("reach Keystone");
    split(response).await
}

async fn scope(sim: &Sim, http: &Client, token: &str, scope: Value) -> (StatusCode, String, Value) {
    let body = json!({
        "auth": {
            "identity": { "methods": ["token"], "token": { "id": token } },
            "scope": scope,
        }
    });
    let url = format!("{}/v3/auth/tokens", sim.keystone_url());
    split(
        http.post(url)
            .json(&body)
            .send()
            .await
            .expect("reach Keystone"),
    )
    .await
}

async fn split(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let subject = response
        .headers()
        .get("x-subject-token")
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    (
        status,
        subject,
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn unscoped_token(sim: &Sim, http: &Client) -> String {
    let jwt = login(sim, http, REALM, USER).await;
    let (status, token, _) = federate(sim, http, IDP, &jwt).await;
    assert_eq!(status, StatusCode::CREATED);
    token
}

fn keystone_error(body: &Value, code: u16) -> &str {
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().expect("a message")
}

async fn get_json(http: &Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}
