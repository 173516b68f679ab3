//! The login flow end to end, version discovery, and every Keycloak and Keystone error row.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::{
    federate, federation_url, get_json, keystone_error, login, password_grant, scope, split, start,
    token_url, unscoped_token,
};
use crate::sim::fixture::{
    ADMIN_REALM, ADMIN_USER, CLIENT_ID, CLIENT_SECRET, IDP, NO_DAG_CLIENT_ID, PASSWORD,
    PROJECT_DB_ID, PROJECT_SECRET_ID, PROJECT_WEB_ID, REALM, USER, USER_REQUIRED_ACTIONS,
};
use crate::sim::{Counters, RescopeExpiry, Sim, SimConfig};

#[tokio::test]
async fn whole_flow_with_prefix() {
    let config = SimConfig {
        keystone_prefix: "identity/".into(),
        ..SimConfig::default()
    };
    let (sim, http) = start(config).await;
    assert!(sim.keystone_url().ends_with("/identity"));

    let unscoped = discover_login_federate(&sim, &http).await;
    let web = scope_by_id_and_name(&sim, &http, &unscoped).await;
    list_validate_revoke(&sim, &http, &unscoped, &web).await;

    assert_eq!(
        sim.counters(),
        Counters {
            discovery: 1,
            jwks: 1,
            password_grant_ok: 1,
            federation_auth: 1,
            scope: 2,
            validate: 3,
            revoke: 1,
            projects: 1,
            ..Counters::default()
        }
    );
    let served: Value = get_json(&http, &format!("{}/_sim/counters", sim.keycloak_url())).await;
    assert_eq!(served["validate"], 3);
    sim.reset_counters();
    assert_eq!(sim.counters(), Counters::default());
}

async fn discover_login_federate(sim: &Sim, http: &Client) -> String {
    let discovery = get_json(http, &sim.discovery_url(REALM)).await;
    assert_eq!(discovery["token_endpoint"], token_url(sim, REALM));
    assert_eq!(
        discovery["issuer"],
        format!("{}/realms/{REALM}", sim.keycloak_url())
    );
    let jwks = get_json(http, discovery["jwks_uri"].as_str().unwrap()).await;
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    let jwt = login(sim, http, REALM, USER).await;
    let (status, unscoped, body) = federate(sim, http, IDP, &jwt).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(unscoped.starts_with("gAAAAA") && unscoped.len() > 150);
    let token = &body["token"];
    assert_eq!(token["methods"], json!(["openid"]));
    assert_eq!(token["user"]["name"], USER);
    assert_eq!(
        token["user"]["OS-FEDERATION"]["identity_provider"]["id"],
        IDP
    );
    unscoped
}

async fn scope_by_id_and_name(sim: &Sim, http: &Client, unscoped: &str) -> String {
    let by_id = json!({"project": {"id": PROJECT_WEB_ID}});
    let (status, web, body) = scope(sim, http, unscoped, by_id).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = &body["token"];
    assert_eq!(token["project"]["id"], PROJECT_WEB_ID);
    assert_eq!(token["roles"][1]["name"], "member");
    assert!(token["expires_at"].as_str().unwrap().ends_with(".000000Z"));
    let identity = &token["catalog"][0]["endpoints"][0]["url"];
    assert_eq!(*identity, format!("{}/v3", sim.keystone_url()));

    let by_name = json!({"project": {"name": "db", "domain": {"name": "Default"}}});
    let (status, _, body) = scope(sim, http, unscoped, by_name).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["token"]["project"]["id"], PROJECT_DB_ID);
    web
}

async fn list_validate_revoke(sim: &Sim, http: &Client, unscoped: &str, web: &str) {
    let projects_url = format!("{}/v3/auth/projects", sim.keystone_url());
    let request = http.get(&projects_url).header("X-Auth-Token", unscoped);
    let projects: Value = request.send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [PROJECT_WEB_ID, PROJECT_DB_ID]);

    let tokens_url = format!("{}/v3/auth/tokens", sim.keystone_url());
    let about = |request: reqwest::RequestBuilder| {
        request
            .header("X-Auth-Token", unscoped)
            .header("X-Subject-Token", web)
            .send()
    };
    let response = about(http.get(&tokens_url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-subject-token"], web);
    let head = about(http.head(&tokens_url)).await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    let revoke = about(http.delete(&tokens_url)).await.unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert!(sim.is_revoked(web));
    let (status, _, body) = split(about(http.get(&tokens_url)).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(keystone_error(&body, 404), "Failed to validate token");
}

#[tokio::test]
async fn version_documents_use_the_request_host_and_prefix() {
    let config = SimConfig {
        keystone_prefix: "/identity".into(),
        ..SimConfig::default()
    };
    let (sim, http) = start(config).await;
    for root in [sim.keystone_url(), format!("{}/", sim.keystone_url())] {
        let response = http.get(&root).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::MULTIPLE_CHOICES);
        let body: Value = response.json().await.unwrap();
        let href = &body["versions"]["values"][0]["links"][0]["href"];
        assert_eq!(*href, format!("{}/v3/", sim.keystone_url()));
    }
    let v3: Value = http
        .get(format!("{}/v3", sim.keystone_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v3["version"]["id"], "v3.14");
    assert_eq!(v3["version"]["status"], "stable");
    let localhost = sim.keystone_url().replace("127.0.0.1", "localhost");
    let v3: Value = http
        .get(format!("{localhost}/v3/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v3["version"]["links"][0]["href"],
        format!("{localhost}/v3/")
    );
    assert_eq!(sim.counters().version_docs, 4);
    let outside = http
        .get(format!(
            "{}/v3",
            sim.keystone_url().replace("/identity", "")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn client_secret_post_and_refresh() {
    let (sim, http) = start(SimConfig::default()).await;
    let form = [
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", USER),
        ("password", PASSWORD),
    ];
    let response = http
        .post(token_url(&sim, REALM))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["refresh_expires_in"], 1800);
    assert!(
        body.get("id_token").is_none(),
        "no openid scope, no id_token"
    );

    let refresh = body["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let refreshed = http
        .post(token_url(&sim, REALM))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed: Value = refreshed.json().await.unwrap();
    let (status, _, _) = federate(
        &sim,
        &http,
        IDP,
        refreshed["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    sim.set_clock_offset(1801);
    let expired = http
        .post(token_url(&sim, REALM))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::BAD_REQUEST);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Token is not active"})
    );
    let counters = sim.counters();
    assert_eq!((counters.password_grant_ok, counters.refresh_grant), (1, 2));
}

#[tokio::test]
async fn keycloak_error_rows() {
    let (sim, http) = start(SimConfig::default()).await;
    let good = (CLIENT_ID, CLIENT_SECRET);
    let rows = [
        (
            good,
            (USER, "wrong-fake"),
            401,
            "invalid_grant",
            "Invalid user credentials",
        ),
        (
            good,
            ("nobody", PASSWORD),
            401,
            "invalid_grant",
            "Invalid user credentials",
        ),
        (
            ("unknown", CLIENT_SECRET),
            (USER, PASSWORD),
            401,
            "invalid_client",
            "Invalid client or Invalid client credentials",
        ),
        (
            (CLIENT_ID, "wrong-fake"),
            (USER, PASSWORD),
            401,
            "unauthorized_client",
            "Invalid client or Invalid client credentials",
        ),
        (
            (NO_DAG_CLIENT_ID, CLIENT_SECRET),
            (USER, PASSWORD),
            400,
            "unauthorized_client",
            "Client not allowed for direct access grants",
        ),
        (
            good,
            (USER_REQUIRED_ACTIONS, PASSWORD),
            400,
            "invalid_grant",
            "Account is not fully set up",
        ),
    ];
    for (client, user, status, error, description) in rows {
        let (got, body) = password_grant(&sim, &http, REALM, client, user).await;
        assert_eq!(got.as_u16(), status, "{body}");
        assert_eq!(
            body,
            json!({"error": error, "error_description": description})
        );
    }
    let form = [("grant_type", "client_credentials")];
    let response = http
        .post(token_url(&sim, REALM))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    let counters = sim.counters();
    assert_eq!(
        (counters.password_grant_ok, counters.password_grant_failed),
        (0, 6)
    );

    sim.set_password(REALM, USER, "rotated-fake");
    let (status, _) = password_grant(&sim, &http, REALM, good, (USER, PASSWORD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = password_grant(&sim, &http, REALM, good, (USER, "rotated-fake")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn keystone_error_rows() {
    let (sim, http) = start(SimConfig::default()).await;
    let jwt = login(&sim, &http, REALM, USER).await;
    let (status, _, body) = federate(&sim, &http, "nope", &jwt).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        keystone_error(&body, 404),
        "Could not find Identity Provider: nope."
    );

    // The front door (mod_auth_openidc) refuses a token it cannot verify: Apache's 401.
    let response = http
        .post(federation_url(&sim, IDP))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = "Bearer realm=\"openstack\", error=\"invalid_token\", \
                     error_description=\"the token could not be verified\"";
    assert_eq!(response.headers()["www-authenticate"], challenge);
    assert!(response.headers().get("x-openstack-request-id").is_none());
    assert!(response.text().await.unwrap().contains("401 Unauthorized"));

    // A token of realm master is not one the `keycloak` identity provider trusts.
    let admin_jwt = login(&sim, &http, ADMIN_REALM, ADMIN_USER).await;
    let (status, _, body) = federate(&sim, &http, IDP, &admin_jwt).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        keystone_error(&body, 403),
        "You are not authorized to perform the requested action."
    );
    assert_eq!(
        federate(&sim, &http, "keycloak-admin", &admin_jwt).await.0,
        StatusCode::CREATED
    );

    let unscoped = unscoped_token(&sim, &http).await;
    for project in [
        json!({"id": PROJECT_SECRET_ID}),
        json!({"id": "ffffffffffffffffffffffffffffffff"}),
    ] {
        let (status, _, body) = scope(&sim, &http, &unscoped, json!({ "project": project })).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            keystone_error(&body, 401),
            "The request you have made requires authentication."
        );
    }
    let web = json!({"project": {"id": PROJECT_WEB_ID}});
    let (status, _, body) = scope(&sim, &http, "gAAAAAunknown", web.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        keystone_error(&body, 404),
        "Could not recognize Fernet token"
    );

    // Access tokens expire after 300 s; Keystone tokens after 3600 s.
    sim.set_clock_offset(301);
    let response = http
        .post(federation_url(&sim, IDP))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("the token has expired"), "{challenge}");
    sim.set_clock_offset(3600);
    let (status, _, body) = scope(&sim, &http, &unscoped, web).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(keystone_error(&body, 404), "Failed to validate token");
}

#[tokio::test]
async fn rescoping_expiry_policies() {
    for (policy, renewed) in [
        (RescopeExpiry::KeepSource, false),
        (RescopeExpiry::Fresh, true),
    ] {
        let config = SimConfig {
            rescope_expiry: policy,
            ..SimConfig::default()
        };
        let (sim, http) = start(config).await;
        let unscoped = unscoped_token(&sim, &http).await;
        sim.set_clock_offset(100);
        let web = json!({"project": {"id": PROJECT_WEB_ID}});
        let (_, scoped, body) = scope(&sim, &http, &unscoped, web.clone()).await;
        let (_, rescoped, unscoped_again) = scope(&sim, &http, &scoped, Value::Null).await;
        assert!(unscoped_again["token"].get("project").is_none());
        assert!(!rescoped.is_empty());
        let url = format!("{}/v3/auth/tokens", sim.keystone_url());
        let source: Value = http
            .get(&url)
            .header("X-Auth-Token", &scoped)
            .header("X-Subject-Token", &unscoped)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let same = body["token"]["expires_at"] == source["token"]["expires_at"];
        assert_eq!(same, !renewed, "{policy:?}");
    }
}
