use std::io::Write;
use std::time::Duration;

use opcp_cred_proto::{ErrorKind, Secret};

use super::stub::{self, Reply, Stub};
use super::*;

fn cacert_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("a temp file");
    file.write_all(content.as_bytes())
        .expect("write the temp file");
    file
}

fn with_cacert(path: &std::path::Path) -> ProfileConfig {
    ProfileConfig {
        cacert: Some(path.display().to_string()),
        ..stub::profile()
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Answer, SendError> {
    send("keycloak", url, client.get(url)).await
}

#[test]
fn a_cacert_that_is_not_a_file_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ca.fifo");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    for path in [fifo.as_path(), "/dev/zero".as_ref()] {
        let err = client_for(&with_cacert(path)).unwrap_err();
        assert!(matches!(err, HttpError::CaCertUnreadable { .. }), "{err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}

#[test]
fn missing_cacert_names_the_file() {
    let err = client_for(&with_cacert("/nonexistent/ca.pem".as_ref())).unwrap_err();
    assert!(matches!(err, HttpError::CaCertUnreadable { .. }));
    assert!(err.to_string().contains("`/nonexistent/ca.pem`"), "{err}");
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.hint().unwrap().contains("cacert"));
}

#[test]
fn garbage_cacert_is_refused() {
    let file = cacert_file("this is not a certificate\n");
    let err = client_for(&with_cacert(file.path())).unwrap_err();
    assert!(matches!(err, HttpError::CaCertEmpty { .. }), "{err}");
    assert!(err.to_string().contains(&file.path().display().to_string()));

    let file =
        cacert_file("-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n");
    let err = client_for(&with_cacert(file.path())).unwrap_err();
    assert!(matches!(err, HttpError::CaCertInvalid { .. }), "{err}");
}

#[test]
fn bad_proxy_is_a_config_error_without_echoing_the_url() {
    let profile = ProfileConfig {
        proxy: Some("http://user:fake-pass@[bad".to_owned()),
        ..stub::profile()
    };
    let err = client_for(&profile).unwrap_err();
    assert!(matches!(err, HttpError::Proxy { .. }), "{err}");
    assert!(!err.to_string().contains("fake-pass"));
}

#[tokio::test]
async fn cacert_makes_the_test_ca_trusted() {
    let url = stub::tls_server();
    let file = cacert_file(stub::CA_PEM);
    let client = client_for(&with_cacert(file.path())).unwrap();
    let answer = get(&client, &url).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, b"{}");
}

#[tokio::test]
async fn untrusted_certificate_is_a_tls_error() {
    let url = stub::tls_server();
    let client = client_for(&stub::profile()).unwrap();
    let err = get(&client, &url).await.unwrap_err();
    assert_eq!(err.transport, Transport::Tls, "{err}");
    assert_eq!(err.kind(), ErrorKind::Tls);
    assert!(err.to_string().contains(&url), "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    assert_eq!(err.hint().as_deref(), Some(TLS_HINT));
}

#[tokio::test]
async fn https_to_a_plain_http_server_says_so() {
    let plain = Stub::start(&[("/", Reply::json(200, &serde_json::json!({})))]).await;
    let url = plain.url("/").replacen("http://", "https://", 1);
    let client = client_for(&stub::profile()).unwrap();
    let err = get(&client, &url).await.unwrap_err();
    assert_eq!(err.transport, Transport::Tls, "{err}");
    assert_eq!(err.hint().as_deref(), Some(NOT_TLS_HINT), "{err}");
}

#[tokio::test]
async fn insecure_skips_verification() {
    let url = stub::tls_server();
    let client = client_for(&ProfileConfig {
        insecure: true,
        ..stub::profile()
    })
    .unwrap();
    assert_eq!(get(&client, &url).await.unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn sends_the_user_agent_and_follows_no_redirect() {
    let stub = Stub::start(&[(
        "/moved",
        Reply::text(302, "").header("location", "/elsewhere"),
    )])
    .await;
    let client = client_for(&stub::profile()).unwrap();
    let answer = get(&client, &stub.url("/moved")).await.unwrap();
    assert_eq!(answer.status, StatusCode::FOUND);
    let seen = stub.seen();
    assert_eq!(seen.len(), 1, "the redirect must not be followed");
    assert_eq!(seen[0].header("user-agent"), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("opcp-credd/0."));
}

#[tokio::test]
async fn proxy_carries_every_request() {
    let proxy = Stub::start(&[("/v3", Reply::text(200, "via proxy"))]).await;
    let profile = ProfileConfig {
        proxy: Some(proxy.url("")),
        ..stub::profile()
    };
    let client = client_for(&profile).unwrap();
    let answer = get(&client, "http://keystone.example.test/v3")
        .await
        .unwrap();
    assert_eq!(answer.body, b"via proxy");
    assert_eq!(
        proxy.seen()[0].header("host"),
        Some("keystone.example.test")
    );
}

#[tokio::test]
async fn refused_connection_is_unreachable() {
    let client = client_for(&stub::profile()).unwrap();
    let url = stub::refused_url();
    let err = get(&client, &url).await.unwrap_err();
    assert_eq!(err.transport, Transport::Unreachable, "{err}");
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
    assert!(
        err.to_string().starts_with("cannot connect to keycloak at"),
        "{err}"
    );
    assert!(err.to_string().contains("refused"), "{err}");
    let hint = err.hint().unwrap();
    assert!(hint.contains("`discovery_endpoint`"), "{hint}");
}

#[tokio::test]
async fn dropped_connection_is_other() {
    let client = client_for(&stub::profile()).unwrap();
    let err = get(&client, &stub::dropping_server().await)
        .await
        .unwrap_err();
    assert_eq!(err.transport, Transport::Other, "{err}");
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
}

#[tokio::test]
async fn silence_is_a_timeout() {
    // The real client waits 30 s; the classification is the same with a short timeout.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = get(&client, &stub::silent_server().await)
        .await
        .unwrap_err();
    assert_eq!(err.transport, Transport::Timeout, "{err}");
    assert!(err.to_string().ends_with("did not answer in time"), "{err}");
}

#[test]
fn quote_masks_secrets_and_bounds_length() {
    let token = Secret::new("gAAAA-fake-token");
    let quoted = quote(
        "Could not find token: gAAAA-fake-token.",
        &[&token, &Secret::default()],
    );
    assert_eq!(quoted, "could not find token: <redacted>.");
    let password = Secret::new("p&ss w+rd%=\"x");
    let echoed = quote("bad form: password=p%26ss+w%2Brd%25%3D%22x", &[&password]);
    assert_eq!(echoed, "bad form: password=<redacted>");
    let basic = quote(
        "bad auth Basic b3BlbnN0YWNrLWNsaTpTVVBFUlNFQ1JFVENMSUVOVDEyMw== here",
        &[],
    );
    assert_eq!(basic, "bad auth Basic <redacted> here");
    assert_eq!(
        quote("see /realms/pod/protocol/openid-connect/token", &[]),
        "see /realms/pod/protocol/openid-connect/token",
        "paths are not credentials"
    );
    let long = "x".repeat(1000);
    assert_eq!(quote(&long, &[]).chars().count(), MAX_QUOTE + 1);
}

#[test]
fn secret_header_is_sensitive() {
    let value = secret_header(&Secret::new("fake-token")).unwrap();
    assert!(value.is_sensitive());
    assert!(!format!("{value:?}").contains("fake-token"));
    assert!(secret_header(&Secret::new("bad\nvalue")).is_err());
}

#[tokio::test]
async fn a_huge_answer_is_cut_off() {
    let huge = "x".repeat(MAX_ANSWER_BYTES + 1);
    let stub = Stub::start(&[("/big", Reply::text(200, &huge))]).await;
    let client = client_for(&stub::profile()).unwrap();
    let err = get(&client, &stub.url("/big")).await.unwrap_err();
    assert!(err.to_string().contains("larger than 8 MiB"), "{err}");
}
