use base64::Engine as _;
use opcp_cred_proto::ErrorKind;
use serde_json::json;

use super::*;
use crate::error::Actionable;
use crate::http::stub::{self, Reply, Stub};

const TOKEN_PATH: &str = "/realms/pod/protocol/openid-connect/token";
const DISCOVERY_PATH: &str = "/realms/pod/.well-known/openid-configuration";

fn client() -> reqwest::Client {
    crate::http::client_for(&stub::profile()).expect("a plain client")
}

fn secret() -> Secret {
    Secret::new("fake-client-secret")
}

fn credentials(secret: &Secret, auth: ClientAuth) -> ClientCredentials<'_> {
    ClientCredentials {
        client_id: "openstack-cli",
        client_secret: secret,
        auth,
        scope: "openid",
    }
}

fn disc(stub: &Stub) -> Discovery {
    Discovery {
        issuer: stub.url("/realms/pod"),
        token_endpoint: stub.url(TOKEN_PATH),
        realm: Some("pod".to_owned()),
    }
}

fn token_reply() -> Reply {
    Reply::json(
        200,
        &json!({
            "access_token": "fake-access", "expires_in": 300, "token_type": "Bearer",
            "refresh_token": "fake-refresh", "refresh_expires_in": 1800, "scope": "openid"
        }),
    )
}

/// A password grant as alice against a token endpoint answering `reply`.
async fn password(reply: Reply, auth: ClientAuth) -> (Result<OidcTokens, OidcError>, Stub) {
    let stub = Stub::start(&[(TOKEN_PATH, reply)]).await;
    let secret = secret();
    let result = password_grant(
        &client(),
        &disc(&stub),
        &credentials(&secret, auth),
        "alice",
        &Secret::new("fake-password"),
    )
    .await;
    (result, stub)
}

async fn refused(status: u16, error: &str, description: &str) -> OidcError {
    let body = json!({ "error": error, "error_description": description });
    password(Reply::json(status, &body), ClientAuth::Basic)
        .await
        .0
        .unwrap_err()
}

#[tokio::test]
async fn discovery_reads_the_endpoints_and_realm() {
    let doc = json!({
        "issuer": "https://keycloak.example.test/realms/pod",
        "token_endpoint": "https://keycloak.example.test/realms/pod/protocol/openid-connect/token",
        "jwks_uri": "https://keycloak.example.test/realms/pod/protocol/openid-connect/certs"
    });
    let stub = Stub::start(&[(DISCOVERY_PATH, Reply::json(200, &doc))]).await;
    let found = discover(&client(), &stub.url(DISCOVERY_PATH))
        .await
        .unwrap();
    assert_eq!(found.realm.as_deref(), Some("pod"));
    assert_eq!(found.issuer, "https://keycloak.example.test/realms/pod");
    assert!(found.token_endpoint.ends_with("/openid-connect/token"));
}

#[test]
fn realm_comes_from_the_path() {
    assert_eq!(
        realm_in("https://k.example.test/auth/realms/master/").as_deref(),
        Some("master")
    );
    assert_eq!(realm_in("https://k.example.test/"), None);
    let disc = Discovery {
        issuer: "https://k.example.test".into(),
        token_endpoint: String::new(),
        realm: None,
    };
    assert_eq!(disc.label(), "keycloak at `https://k.example.test`");
}

async fn discovery_error(reply: Reply) -> (OidcError, String) {
    let stub = Stub::start(&[(DISCOVERY_PATH, reply)]).await;
    let url = stub.url(DISCOVERY_PATH);
    (discover(&client(), &url).await.unwrap_err(), url)
}

#[tokio::test]
async fn discovery_failures_name_the_url() {
    let cases = [
        (
            Reply::text(404, "Realm does not exist"),
            "keycloak answered 404 Not Found",
        ),
        (
            Reply::text(200, "<html>sign in</html>"),
            "the answer is not JSON",
        ),
        (
            Reply::json(200, &json!({ "issuer": "x" })),
            "the answer has no `token_endpoint`",
        ),
        (
            Reply::json(200, &json!({ "token_endpoint": "nope", "issuer": "x" })),
            "is not a URL",
        ),
    ];
    for (reply, reason) in cases {
        let (err, url) = discovery_error(reply).await;
        assert_eq!(err.kind(), ErrorKind::DiscoveryFailed, "{err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("oidc discovery failed at `{url}`: ")),
            "{message}"
        );
        assert!(message.contains(reason), "{message}");
        assert!(err.hint().unwrap().contains("right realm"));
    }
}

#[tokio::test]
async fn discovery_unreachable_is_discovery_failed() {
    let url = format!("{}{DISCOVERY_PATH}", stub::refused_url());
    let err = discover(&client(), &url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DiscoveryFailed, "{err}");
    assert!(err.to_string().contains("cannot connect"), "{err}");
}

#[tokio::test]
async fn discovery_server_errors_and_drops_are_unavailable() {
    let (err, _) = discovery_error(Reply::text(503, "")).await;
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable, "{err}");
    let url = format!("{}{DISCOVERY_PATH}", stub::dropping_server().await);
    let err = discover(&client(), &url).await.unwrap_err();
    assert!(matches!(err, OidcError::Send(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
}

#[tokio::test]
async fn basic_auth_form_encodes_before_base64() {
    let stub = Stub::start(&[(TOKEN_PATH, token_reply())]).await;
    let secret = Secret::new("s3cr&t+:fake");
    let client_creds = ClientCredentials {
        client_id: "cli id:x",
        ..credentials(&secret, ClientAuth::Basic)
    };
    let tokens = password_grant(
        &client(),
        &disc(&stub),
        &client_creds,
        "alice",
        &Secret::new("fake pw"),
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.expose(), "fake-access");
    assert_eq!(tokens.expires_in, Duration::from_secs(300));
    assert_eq!(tokens.refresh_token.unwrap().expose(), "fake-refresh");
    assert_eq!(tokens.refresh_expires_in, Some(Duration::from_secs(1800)));

    let seen = &stub.seen()[0];
    assert_eq!(seen.method, "POST");
    let basic = seen
        .header("authorization")
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "cli+id%3Ax:s3cr%26t%2B%3Afake"
    );
    let form = seen.form();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], "alice");
    assert_eq!(form["password"], "fake pw");
    assert_eq!(form["scope"], "openid");
    assert!(!form.contains_key("client_id") && !form.contains_key("client_secret"));
}

#[tokio::test]
async fn post_auth_puts_the_client_in_the_form() {
    let (result, stub) = password(token_reply(), ClientAuth::Post).await;
    result.unwrap();
    let seen = &stub.seen()[0];
    assert_eq!(seen.header("authorization"), None);
    let form = seen.form();
    assert_eq!(form["client_id"], "openstack-cli");
    assert_eq!(form["client_secret"], "fake-client-secret");
    assert_eq!(form["grant_type"], "password");
}

#[tokio::test]
async fn refresh_grant_sends_the_refresh_token() {
    let reply = Reply::json(
        200,
        &json!({ "access_token": "fake-2", "expires_in": 60, "refresh_expires_in": 0 }),
    );
    let stub = Stub::start(&[(TOKEN_PATH, reply)]).await;
    let secret = secret();
    let tokens = refresh_grant(
        &client(),
        &disc(&stub),
        &credentials(&secret, ClientAuth::Basic),
        &Secret::new("fake-refresh"),
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.expose(), "fake-2");
    assert!(tokens.refresh_token.is_none());
    assert_eq!(
        tokens.refresh_expires_in, None,
        "0 means no expiry, not expired"
    );
    let form = stub.seen()[0].form();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], "fake-refresh");
    assert!(!form.contains_key("password"));
}

#[tokio::test]
async fn invalid_client_is_client_rejected() {
    let err = refused(
        401,
        "invalid_client",
        "Invalid client or Invalid client credentials",
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::ClientRejected);
    assert_eq!(
        err.to_string(),
        "client `openstack-cli` rejected by keycloak realm `pod`: invalid client or Invalid client credentials"
    );
    assert!(err.hint().unwrap().contains("Credentials tab"));
    assert!(!err.is_rejected_password());
}

#[tokio::test]
async fn invalid_user_credentials_is_auth_rejected() {
    let err = refused(401, "invalid_grant", "Invalid user credentials").await;
    assert_eq!(err.kind(), ErrorKind::AuthRejected);
    assert_eq!(
        err.to_string(),
        "username or password rejected by keycloak realm `pod` for user `alice`"
    );
    assert!(err.hint().unwrap().starts_with("run `opcp-cred login`"));
    assert!(err.is_rejected_password());
}

#[tokio::test]
async fn unauthorized_client_asks_for_direct_access_grants() {
    let err = refused(
        400,
        "unauthorized_client",
        "Client not allowed for direct access grants",
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::ClientRejected);
    assert!(
        err.to_string()
            .contains("does not allow direct access grants"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("Direct access grants"));
}

#[tokio::test]
async fn account_not_fully_set_up_is_account_not_ready() {
    let err = refused(400, "invalid_grant", "Account is not fully set up").await;
    assert_eq!(err.kind(), ErrorKind::AccountNotReady);
    assert_eq!(
        err.to_string(),
        "user `alice` has pending required actions in keycloak realm `pod`"
    );
    assert!(err.hint().unwrap().contains("browser"));
    assert!(err.is_rejected_password());
}

#[tokio::test]
async fn disabled_account_is_named() {
    let err = refused(400, "invalid_grant", "Account disabled").await;
    assert_eq!(err.kind(), ErrorKind::AuthRejected);
    assert!(
        err.to_string()
            .ends_with("refused user `alice`: account disabled"),
        "{err}"
    );
    assert!(err.is_rejected_password());
}

#[tokio::test]
async fn dead_refresh_token_is_not_a_rejected_password() {
    let body = json!({ "error": "invalid_grant", "error_description": "Token is not active" });
    let stub = Stub::start(&[(TOKEN_PATH, Reply::json(400, &body))]).await;
    let secret = secret();
    let err = refresh_grant(
        &client(),
        &disc(&stub),
        &credentials(&secret, ClientAuth::Basic),
        &Secret::new("fake-r"),
    )
    .await
    .unwrap_err();
    assert!(
        err.is_refresh_rejected() && !err.is_rejected_password(),
        "{err}"
    );
}

#[tokio::test]
async fn other_oauth_errors_quote_keycloak_without_secrets() {
    let err = refused(400, "invalid_scope", "Invalid scopes: openid fake-password").await;
    assert_eq!(err.kind(), ErrorKind::ClientRejected);
    let message = err.to_string();
    assert!(
        message.contains("invalid_scope: invalid scopes: openid <redacted>"),
        "{message}"
    );
    assert!(!message.contains("fake-password"));
}

#[tokio::test]
async fn server_errors_and_lies_are_unavailable() {
    let (err, stub) = password(Reply::text(502, "Bad Gateway"), ClientAuth::Basic).await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
    assert_eq!(
        err.to_string(),
        format!(
            "keycloak answered 502 Bad Gateway at `{}`",
            stub.url(TOKEN_PATH)
        )
    );

    for lie in [
        Reply::text(200, "<html>ok</html>"),
        Reply::json(200, &json!({ "expires_in": 300 })),
    ] {
        let (err, stub) = password(lie, ClientAuth::Basic).await;
        let err = err.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        assert!(err.to_string().contains(&stub.url(TOKEN_PATH)), "{err}");
        assert!(err.to_string().ends_with("not a token response"), "{err}");
    }
}

#[tokio::test]
async fn dropped_token_request_is_unavailable() {
    let base = stub::dropping_server().await;
    let disc = Discovery {
        issuer: base.clone(),
        token_endpoint: format!("{base}{TOKEN_PATH}"),
        realm: None,
    };
    let secret = secret();
    let err = password_grant(
        &client(),
        &disc,
        &credentials(&secret, ClientAuth::Basic),
        "alice",
        &Secret::new("fake"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable, "{err}");
    assert!(!err.is_rejected_password());
}

fn jwt(claims: &serde_json::Value) -> Secret {
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    Secret::new(format!(
        "{}.{}.fake-signature",
        b64(br#"{"alg":"RS256"}"#),
        b64(claims.to_string().as_bytes())
    ))
}

#[test]
fn projects_claim_is_decoded() {
    let token = jwt(&json!({ "sub": "alice", "projects": ["alpha", "beta"] }));
    assert_eq!(
        projects_claim(&token),
        Some(vec!["alpha".to_owned(), "beta".to_owned()])
    );
    assert_eq!(
        projects_claim(&jwt(&json!({ "projects": "alpha" }))),
        Some(vec!["alpha".to_owned()])
    );
    assert_eq!(projects_claim(&jwt(&json!({ "sub": "alice" }))), None);
    assert_eq!(projects_claim(&Secret::new("opaque-fake-token")), None);
    assert_eq!(projects_claim(&Secret::new("a.!!!.c")), None);
}

#[tokio::test]
async fn absurd_lifetimes_are_capped() {
    let reply = Reply::json(
        200,
        &json!({
            "access_token": "fake-access", "expires_in": u64::MAX, "token_type": "Bearer",
            "refresh_token": "fake-refresh", "refresh_expires_in": u64::MAX
        }),
    );
    let (tokens, _) = password(reply, ClientAuth::Basic).await;
    let tokens = tokens.unwrap();
    assert_eq!(tokens.expires_in, crate::clock::MAX_LIFETIME);
    assert_eq!(tokens.refresh_expires_in, Some(crate::clock::MAX_LIFETIME));
}
