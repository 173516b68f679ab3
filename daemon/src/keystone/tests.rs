use std::str::FromStr;

use opcp_cred_proto::ErrorKind;
use serde_json::{Value, json};

use super::*;
use crate::error::Actionable;
use crate::http::stub::{self, Reply, Stub};

const FEDERATION_PATH: &str = "/v3/OS-FEDERATION/identity_providers/keycloak/protocols/openid/auth";
const EXPIRES_AT: &str = "2026-12-03T18:07:04.000000Z";

fn client() -> reqwest::Client {
    crate::http::client_for(&stub::profile()).expect("a plain client")
}

fn auth_url(stub: &Stub) -> AuthUrl {
    AuthUrl::parse(&stub.url("/")).expect("a stub URL")
}

fn token_reply(token: &str, body: &Value) -> Reply {
    Reply::json(201, body).header("x-subject-token", token)
}

fn keystone_error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({ "error": { "code": status, "message": message, "title": "Error" } }),
    )
}

fn unscoped_body() -> Value {
    json!({ "token": { "methods": ["mapped"], "expires_at": EXPIRES_AT, "user": { "id": "u1" } } })
}

fn scoped_body() -> Value {
    json!({ "token": {
        "methods": ["token"], "expires_at": EXPIRES_AT,
        "project": { "id": "p1", "name": "alpha", "domain": { "id": "default", "name": "Default" } },
        "catalog": [{ "type": "compute" }, { "type": "identity" }],
    }})
}

async fn federate(reply: Reply) -> (Result<KeystoneToken, KeystoneError>, Stub) {
    let stub = Stub::start(&[(FEDERATION_PATH, reply)]).await;
    let access = Secret::new("fake-access-token");
    let result = federated_auth(&client(), &auth_url(&stub), "keycloak", "openid", &access).await;
    (result, stub)
}

fn p1() -> ProjectSelector {
    ProjectSelector::Id {
        id: "p1".to_owned(),
    }
}

async fn scope_with(
    reply: Reply,
    claimed: Option<&[String]>,
) -> (Result<KeystoneToken, KeystoneError>, Stub) {
    let stub = Stub::start(&[("/v3/auth/tokens", reply)]).await;
    let unscoped = Secret::new("fake-unscoped");
    let result = scope(&client(), &auth_url(&stub), &unscoped, &p1(), claimed).await;
    (result, stub)
}

#[tokio::test]
async fn federation_returns_the_unscoped_token() {
    let (result, stub) = federate(token_reply("fake-unscoped", &unscoped_body())).await;
    let token = result.unwrap();
    assert_eq!(token.token.expose(), "fake-unscoped");
    assert_eq!(token.expires_at, Timestamp::from_str(EXPIRES_AT).unwrap());
    assert_eq!(token.expires_at.to_string(), "2026-12-03T18:07:04Z");
    assert!(token.project.is_none());
    assert_eq!(token.catalog_services, 0);
    let seen = &stub.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", FEDERATION_PATH)
    );
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer fake-access-token")
    );
}

#[test]
fn federation_url_encodes_names() {
    let url = AuthUrl::parse("https://keystone.example.test:5000").unwrap();
    assert_eq!(
        federation_url(&url, "my idp", "open/id"),
        "https://keystone.example.test:5000/v3/OS-FEDERATION/identity_providers/my%20idp/protocols/open%2Fid/auth"
    );
}

#[tokio::test]
async fn federation_401_is_federation_rejected() {
    let (result, _) = federate(keystone_error(
        401,
        "The request you have made requires authentication.",
    ))
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FederationRejected);
    assert_eq!(
        err.to_string(),
        "keystone refused the keycloak token for identity provider `keycloak` (protocol `openid`): \
         the request you have made requires authentication."
    );
    assert_eq!(
        err.hint().unwrap(),
        "check the identity provider and protocol names and the mapping"
    );
}

#[tokio::test]
async fn federation_404_names_the_unknown_provider() {
    let (result, _stub) = federate(keystone_error(
        404,
        "Could not find Identity Provider: keycloak.",
    ))
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FederationRejected);
    assert!(
        err.to_string()
            .contains("no identity provider `keycloak` with protocol `openid`"),
        "{err}"
    );
}

#[tokio::test]
async fn federation_404_from_something_else_than_keystone_blames_the_auth_url() {
    let (result, stub) = federate(Reply::text(404, "<html><h1>Not Found</h1></html>")).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FederationRejected);
    assert!(
        err.to_string().contains(&stub.url(FEDERATION_PATH)),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("`auth_url`"), "{err:?}");
}

#[tokio::test]
async fn federation_answers_that_lie_are_unavailable() {
    let no_header = Reply::json(201, &unscoped_body());
    let garbage = Reply::text(201, "not json").header("x-subject-token", "fake-unscoped");
    for (reply, reason) in [(no_header, "no X-Subject-Token"), (garbage, "not a token")] {
        let (result, stub) = federate(reply).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable, "{err}");
        assert!(
            err.to_string().contains(&stub.url(FEDERATION_PATH)),
            "{err}"
        );
        assert!(err.to_string().contains(reason), "{err}");
    }
}

#[tokio::test]
async fn server_errors_quote_keystone() {
    let (result, stub) =
        federate(keystone_error(503, "The server is currently unavailable.")).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
    let url = stub.url(FEDERATION_PATH);
    assert_eq!(
        err.to_string(),
        format!(
            "keystone answered 503 Service Unavailable at `{url}`: the server is currently unavailable."
        )
    );
    assert_eq!(err.hint(), None);
}

#[tokio::test]
async fn scope_by_id_returns_the_project_token() {
    let (result, stub) = scope_with(token_reply("fake-scoped", &scoped_body()), None).await;
    let token = result.unwrap();
    assert_eq!(token.token.expose(), "fake-scoped");
    assert_eq!(token.catalog_services, 2);
    let project = token.project.unwrap();
    assert_eq!(
        (project.id.as_str(), project.name.as_str()),
        ("p1", "alpha")
    );
    assert_eq!(project.domain_id.as_deref(), Some("default"));
    let sent: Value = serde_json::from_str(&stub.seen()[0].body).unwrap();
    assert_eq!(sent["auth"]["identity"]["methods"], json!(["token"]));
    assert_eq!(sent["auth"]["identity"]["token"]["id"], "fake-unscoped");
    assert_eq!(sent["auth"]["scope"]["project"], json!({ "id": "p1" }));
}

#[tokio::test]
async fn scope_by_name_sends_the_domain() {
    let stub = Stub::start(&[(
        "/v3/auth/tokens",
        token_reply("fake-scoped", &scoped_body()),
    )])
    .await;
    let project = ProjectSelector::Name {
        name: "alpha".into(),
        domain_name: "Default".into(),
    };
    scope(
        &client(),
        &auth_url(&stub),
        &Secret::new("fake-unscoped"),
        &project,
        None,
    )
    .await
    .unwrap();
    let sent: Value = serde_json::from_str(&stub.seen()[0].body).unwrap();
    assert_eq!(
        sent["auth"]["scope"]["project"],
        json!({ "name": "alpha", "domain": { "name": "Default" } })
    );
}

#[tokio::test]
async fn scope_refusal_names_the_project_and_the_claim() {
    let claimed = ["alpha".to_owned(), "beta".to_owned()];
    let (result, _) = scope_with(keystone_error(401, "Unauthorized"), Some(&claimed)).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProjectForbidden);
    assert_eq!(
        err.to_string(),
        "not authorised on project `p1`: unauthorized"
    );
    assert_eq!(
        err.hint().unwrap(),
        "check the user's `project` attribute in keycloak; the token's projects claim lists: alpha, beta"
    );

    let (result, _) = scope_with(keystone_error(403, "Forbidden"), Some(&[])).await;
    assert!(
        result
            .unwrap_err()
            .hint()
            .unwrap()
            .ends_with("the token's projects claim is empty")
    );
    let (result, _) = scope_with(Reply::text(403, ""), None).await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "not authorised on project `p1`");
    assert!(err.hint().unwrap().contains("role assignments"));
}

#[tokio::test]
async fn scope_with_a_gone_token_masks_it() {
    let (result, _) = scope_with(
        keystone_error(404, "Could not find token: fake-unscoped."),
        None,
    )
    .await;
    let err = result.unwrap_err();
    assert!(err.is_token_rejected(), "{err}");
    assert!(
        err.to_string()
            .ends_with("could not find token: <redacted>."),
        "{err}"
    );
}

#[tokio::test]
async fn projects_are_listed_with_the_token() {
    let list = json!({ "projects": [
        { "id": "p1", "name": "alpha", "domain_id": "default", "enabled": true, "links": {} },
        { "id": "p2", "name": "beta", "domain_id": "default", "enabled": true },
    ], "links": {} });
    let stub = Stub::start(&[("/v3/auth/projects", Reply::json(200, &list))]).await;
    let found = projects(&client(), &auth_url(&stub), &Secret::new("fake-unscoped"))
        .await
        .unwrap();
    let names: Vec<_> = found.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let seen = &stub.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.header("x-auth-token")),
        ("GET", Some("fake-unscoped"))
    );
}

#[tokio::test]
async fn projects_failures() {
    let stub = Stub::start(&[("/v3/auth/projects", keystone_error(401, "Unauthorized"))]).await;
    let err = projects(&client(), &auth_url(&stub), &Secret::new("fake"))
        .await
        .unwrap_err();
    assert!(err.is_token_rejected(), "{err}");
    let stub = Stub::start(&[(
        "/v3/auth/projects",
        Reply::json(200, &json!({ "nope": [] })),
    )])
    .await;
    let err = projects(&client(), &auth_url(&stub), &Secret::new("fake"))
        .await
        .unwrap_err();
    assert!(matches!(err, KeystoneError::BadAnswer { .. }), "{err}");
}

#[tokio::test]
async fn revoke_sends_the_token_twice_and_accepts_gone() {
    for (status, ok) in [(204, true), (404, true), (401, true), (500, false)] {
        let stub = Stub::start(&[("/v3/auth/tokens", Reply::text(status, ""))]).await;
        let result = revoke(&client(), &auth_url(&stub), &Secret::new("fake-scoped")).await;
        assert_eq!(result.is_ok(), ok, "status {status}");
        let seen = &stub.seen()[0];
        assert_eq!(seen.method, "DELETE");
        assert_eq!(seen.header("x-auth-token"), Some("fake-scoped"));
        assert_eq!(seen.header("x-subject-token"), Some("fake-scoped"));
    }
}

#[tokio::test]
async fn dropped_connection_is_unavailable() {
    let url = AuthUrl::parse(&stub::dropping_server().await).unwrap();
    let err = scope(&client(), &url, &Secret::new("fake"), &p1(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, KeystoneError::Send(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
}

#[tokio::test]
async fn malformed_token_never_leaves() {
    let url = AuthUrl::parse(&stub::refused_url()).unwrap();
    let err = revoke(&client(), &url, &Secret::new("fake\ntoken"))
        .await
        .unwrap_err();
    assert!(matches!(err, KeystoneError::MalformedToken));
    assert!(!err.to_string().contains("fake"));
}
