//! Tiny upstream stand-ins for the unit tests of `http`, `oidc` and `keystone`: an axum stub
//! that answers canned replies and records what it received, plus servers that refuse, drop,
//! hang or speak TLS with a test certificate.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A fake CA (never used outside these tests) that signed [`SERVER_PEM`].
pub(crate) const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBrTCCAVOgAwIBAgIUQ0b766P1siNj5EHXfDRu3Xc0TD8wCgYIKoZIzj0EAwIw
IzEhMB8GA1UEAwwYb3BjcC1jcmVkIHRlc3QgY2EgKGZha2UpMCAXDTI2MTIwMzE3
MTYzMVoYDzIxMjYxMTA5MTcxNjMxWjAjMSEwHwYDVQQDDBhvcGNwLWNyZWQgdGVz
dCBjYSAoZmFrZSkwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATmwr4fJGIfj2DH
fdUwtqXGYabvNmafygJlgV16HQcVcNhM9D9pfxaWOsD/jizOAGUea/nhumX7bLoZ
uEwmx2zUo2MwYTAdBgNVHQ4EFgQUT6yq+3RYA+oMs7dq63G9bBlWkqEwHwYDVR0j
BBgwFoAUT6yq+3RYA+oMs7dq63G9bBlWkqEwDwYDVR0TAQH/BAUwAwEB/zAOBgNV
HQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSAAwRQIhAP7F4Es7GgFFUCM/MKyHAdtp
avN5jIIeb4gn26i0J+WcAiAr9ntbWRpryxKh4awmY0giqyp3H8j2kIyNGUbM1XBS
ug==
-----END CERTIFICATE-----
";

/// The test server's certificate: `127.0.0.1` and `localhost`, valid until 2126.
const SERVER_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBzTCCAXSgAwIBAgIUDSEC9FIHpLFFkhNCO0FWj9bmt80wCgYIKoZIzj0EAwIw
IzEhMB8GA1UEAwwYb3BjcC1jcmVkIHRlc3QgY2EgKGZha2UpMCAXDTI2MTIwMzE3
MTYzMVoYDzIxMjYxMTA5MTcxNjMxWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTAT
BgcqhkjOPQIBBggqhkjOPQMBBwNCAAQY1oaeLymcgJbTrjgkcc7lfXsmrTacajRX
EMZ19KQGfC0EgpAOlOnz/5lzWZDgo/NFTVMPLSWSwxKLKffPZCEco4GSMIGPMBoG
A1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB
/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUyQ9MaDQ1UKVs
WiyFWyPzdnrRrnkwHwYDVR0jBBgwFoAUT6yq+3RYA+oMs7dq63G9bBlWkqEwCgYI
KoZIzj0EAwIDRwAwRAIgPesBOHIRYMcvjufUEebZk2tLwjhCc//pLD4jvtOlF3gC
IDbSOJ8+jG4KTDAXqf+hpP4w/g/bBDd3KSU/dGP0fD5S
-----END CERTIFICATE-----
";

/// The fake test server's key (generated for these tests only, protects nothing).
const SERVER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgs4S2FBtwwIHoSUoH
UOmeUqBPDvwhGS4s1t9o3HBXuy+hRANCAAQY1oaeLymcgJbTrjgkcc7lfXsmrTac
ajRXEMZ19KQGfC0EgpAOlOnz/5lzWZDgo/NFTVMPLSWSwxKLKffPZCEc
-----END PRIVATE KEY-----
";

/// A canned answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::text(status, &body.to_string()).header("content-type", "application/json")
    }

    pub(crate) fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn response(&self) -> Response {
        let mut response = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            response = response.header(name, value);
        }
        response
            .body(Body::from(self.body.clone()))
            .expect("a valid canned reply")
    }
}

/// A request the stub received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The form body as pairs, decoded.
    pub(crate) fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

/// An HTTP server on 127.0.0.1 answering by exact path (404 for the rest).
#[derive(Debug)]
pub(crate) struct Stub {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    pub(crate) async fn start(routes: &[(&str, Reply)]) -> Self {
        let routes: Arc<HashMap<String, Reply>> = Arc::new(
            routes
                .iter()
                .map(|(p, r)| ((*p).to_owned(), r.clone()))
                .collect(),
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorder = Arc::clone(&seen);
        let app = Router::new().fallback(move |request: Request| {
            let (routes, recorder) = (Arc::clone(&routes), Arc::clone(&recorder));
            async move { answer(&routes, &recorder, request).await }
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a test port");
        let base = format!("http://{}", listener.local_addr().expect("a bound address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, seen }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("stub lock").clone()
    }
}

async fn answer(
    routes: &HashMap<String, Reply>,
    recorder: &Mutex<Vec<Seen>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.expect("a small test body");
    let path = parts.uri.path().to_owned();
    recorder.lock().expect("stub lock").push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    routes.get(&path).map_or_else(
        || {
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Body::empty())
                .expect("404")
        },
        Reply::response,
    )
}

/// A URL where nothing listens: connections are refused.
pub(crate) fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a test port");
    let addr = listener.local_addr().expect("a bound address");
    drop(listener);
    format!("http://{addr}")
}

/// A server that reads the request and closes the connection without an answer.
pub(crate) async fn dropping_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a test port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0_u8; 4096];
            let _ = stream.read(&mut buf).await;
        }
    });
    format!("http://{addr}")
}

/// A server that accepts connections and never answers.
pub(crate) async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a test port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    format!("http://{addr}")
}

/// An HTTPS server with the test certificate answering `200 {}` to every request, on a plain
/// thread with blocking rustls (no extra dependency for a TLS acceptor).
pub(crate) fn tls_server() -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    super::install_crypto_provider();
    let cert = CertificateDer::from_pem_slice(SERVER_PEM.as_bytes()).expect("test cert");
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).expect("test key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("a valid test server config");
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a test port");
    let addr = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(Arc::clone(&config)).expect("tls conn");
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut buf = [0_u8; 4096];
            // A failed handshake (untrusted certificate) shows up here: next connection.
            if tls.read(&mut buf).is_ok() {
                let reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = tls.write_all(reply.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    });
    format!("https://{addr}")
}

/// A profile with fake names and no TLS or proxy settings.
pub(crate) fn profile() -> opcp_cred_proto::messages::ProfileConfig {
    opcp_cred_proto::messages::ProfileConfig::new(
        "https://keystone.example.test",
        "keycloak",
        "https://keycloak.example.test/realms/pod/.well-known/openid-configuration",
        "openstack-cli",
        "alice",
    )
}
