//! `Daemon` against a fake daemon: a Unix listener that answers canned HTTP replies.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use opcp_cred_proto::ErrorKind;
use opcp_cred_proto::messages::{TokenRequest, TokenResponse};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixListener;

use super::*;

struct Fake {
    dir: tempfile::TempDir,
    location: SocketLocation,
}

impl Fake {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let location = SocketLocation {
            socket: dir.path().join("daemon.sock"),
            private_dir: Some(dir.path().to_owned()),
        };
        Self { dir, location }
    }

    /// Serve one connection, answering each request with the next reply; returns the
    /// requests as received.
    fn serve(&self, replies: Vec<(u16, &'static str)>) -> tokio::task::JoinHandle<Vec<String>> {
        let listener = UnixListener::bind(&self.location.socket).unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = Vec::new();
            let mut seen = Vec::new();
            for (status, body) in replies {
                seen.push(read_request(&mut stream, &mut buffer).await);
                let reply = format!(
                    "HTTP/1.1 {status} Whatever\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).await.unwrap();
            }
            seen
        })
    }

    async fn connect(&self) -> Daemon {
        Daemon::connect_to(&self.location, None).await.unwrap()
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

async fn read_request(stream: &mut tokio::net::UnixStream, buffer: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            let total = end + 4 + length;
            if buffer.len() >= total {
                let request = String::from_utf8_lossy(&buffer[..total]).into_owned();
                buffer.drain(..total);
                return request;
            }
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "client hung up mid-request");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

const TOKEN: &str = r#"{"token":"fake-token","expires_at":"2030-01-02T03:04:05Z","profile":"pod","project_id":"p1","auth_url":"https://keystone.example.test/v3","unknown_field":1}"#;

#[tokio::test]
async fn posts_json_with_host_header_and_reads_the_answer() {
    let fake = Fake::new();
    let server = fake.serve(vec![(200, TOKEN)]);
    let mut daemon = fake.connect().await;
    let request = TokenRequest {
        profile: Some("pod".into()),
        ..TokenRequest::default()
    };
    let token: TokenResponse = daemon.post(routes::TOKEN, &request).await.unwrap();
    assert_eq!(token.token.expose(), "fake-token");
    assert_eq!(token.project_id, "p1");
    let seen = server.await.unwrap();
    let head = seen[0].to_ascii_lowercase();
    assert!(head.starts_with("post /v1/token http/1.1\r\n"), "{head}");
    assert!(head.contains("\r\nhost: localhost\r\n"), "{head}");
    assert!(
        head.contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
    assert!(
        seen[0].ends_with("\r\n\r\n{\"profile\":\"pod\"}"),
        "{}",
        seen[0]
    );
}

#[tokio::test]
async fn several_requests_share_one_connection() {
    let fake = Fake::new();
    let server = fake.serve(vec![
        (200, r#"{"a":1}"#),
        (200, r#"{"profile":"pod","revoked":2}"#),
    ]);
    let mut daemon = fake.connect().await;
    let raw = daemon.get_raw(routes::STATUS).await.unwrap();
    assert_eq!(&raw[..], br#"{"a":1}"#);
    let deleted: opcp_cred_proto::messages::DeleteProfileResponse =
        daemon.delete(&routes::profile("pod")).await.unwrap();
    assert_eq!(deleted.revoked, 2);
    let seen = server.await.unwrap();
    assert!(
        seen[1].starts_with("DELETE /v1/profiles/pod HTTP/1.1\r\n"),
        "{}",
        seen[1]
    );
    assert!(
        !seen[1].to_ascii_lowercase().contains("content-type"),
        "{}",
        seen[1]
    );
}

#[tokio::test]
async fn error_bodies_become_errors_with_the_daemon_words() {
    let fake = Fake::new();
    let body = r#"{"error":{"kind":"auth_rejected","message":"username or password rejected by keycloak realm pod","hint":"run `opcp-cred login --profile pod`"}}"#;
    let _server = fake.serve(vec![(401, body)]);
    let mut daemon = fake.connect().await;
    let err = daemon.get::<Status>(routes::STATUS).await.unwrap_err();
    let err = err.downcast_ref::<CliError>().expect("a CliError");
    assert_eq!(err.code, Code::Daemon(ErrorKind::AuthRejected));
    assert_eq!(
        err.message,
        "username or password rejected by keycloak realm pod"
    );
    assert_eq!(
        err.hint.as_deref(),
        Some("run `opcp-cred login --profile pod`")
    );
}

#[tokio::test]
async fn a_404_with_an_error_body_is_that_error() {
    let fake = Fake::new();
    let body = r#"{"error":{"kind":"profile_not_found","message":"no profile `x`"}}"#;
    let server = fake.serve(vec![(404, body)]);
    let mut daemon = fake.connect().await;
    let err = daemon
        .get::<Status>(&routes::profile_projects("x"))
        .await
        .unwrap_err();
    let err = err.downcast_ref::<CliError>().expect("a CliError");
    assert_eq!(err.code, Code::Daemon(ErrorKind::ProfileNotFound));
    assert_eq!(server.await.unwrap().len(), 1, "no version probe");
}

#[tokio::test]
async fn an_unknown_route_asks_the_version_and_names_the_older_side() {
    let fake = Fake::new();
    let status = r#"{"api_version":2,"daemon_version":"9.9.9","pid":1,"started_at":"2030-01-02T03:04:05Z","config_path":"/x","profiles":[]}"#;
    let server = fake.serve(vec![(404, ""), (200, status)]);
    let mut daemon = fake.connect().await;
    let err = daemon.get::<Status>("/v1/new-route").await.unwrap_err();
    let err = err.downcast_ref::<CliError>().expect("a CliError");
    assert_eq!(err.code, Code::Failure);
    assert!(err.message.contains("GET /v1/new-route"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap().contains("the client is older"),
        "{:?}",
        err.hint
    );
    assert!(server.await.unwrap()[1].starts_with("GET /v1/status "));
}

#[tokio::test]
async fn other_failures_are_generic() {
    let fake = Fake::new();
    let _server = fake.serve(vec![(500, "oops")]);
    let mut daemon = fake.connect().await;
    let err = daemon.get::<Status>(routes::STATUS).await.unwrap_err();
    assert!(err.downcast_ref::<CliError>().is_none());
    assert!(err.to_string().contains("HTTP 500"), "{err}");
}

#[tokio::test]
async fn unreadable_answers_say_so() {
    let fake = Fake::new();
    let _server = fake.serve(vec![(200, r#"{"not":"a status"}"#)]);
    let mut daemon = fake.connect().await;
    let err = daemon.get::<Status>(routes::STATUS).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot read opcp-credd's answer to /v1/status"),
        "{err:#}"
    );
}

#[tokio::test]
async fn nothing_listening_without_autostart_is_unreachable_with_a_hint() {
    let fake = Fake::new();
    let err = Daemon::connect_to(&fake.location, None).await.unwrap_err();
    assert_eq!(err.code, Code::Unreachable);
    assert!(err.message.contains("daemon.sock"), "{}", err.message);
    assert!(err.hint.as_deref().unwrap().contains("start it with `"));
}

#[tokio::test]
async fn a_missing_private_dir_means_nobody_runs() {
    let fake = Fake::new();
    let location = SocketLocation {
        socket: fake.dir.path().join("missing/daemon.sock"),
        private_dir: Some(fake.dir.path().join("missing")),
    };
    let err = Daemon::connect_to(&location, None).await.unwrap_err();
    assert!(err.message.contains("not running"), "{}", err.message);
}

#[tokio::test]
async fn an_open_private_dir_is_refused_without_starting_anything() {
    let fake = Fake::new();
    std::fs::set_permissions(fake.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let marker = fake.dir.path().join("started");
    let program = fake.script("opcp-credd", &format!("touch '{}'", marker.display()));
    let err = Daemon::connect_to(&fake.location, Some(&program))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::Unreachable);
    assert!(err.message.contains("0755"), "{}", err.message);
    assert!(!marker.exists());
}

#[tokio::test]
async fn a_failing_daemon_start_reports_its_stderr() {
    let fake = Fake::new();
    // Like a stale socket, the path exists but connecting is refused. (A real bound-then-closed
    // socket would be flaky here: a child forked by a parallel test may briefly hold it open.)
    std::fs::write(&fake.location.socket, "").unwrap();
    let program = fake.script("opcp-credd", "echo 'keyring: boom' >&2; exit 1");
    let err = Daemon::connect_to(&fake.location, Some(&program))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::Unreachable);
    assert_eq!(err.message, "could not start opcp-credd: keyring: boom");
}

#[tokio::test]
async fn a_daemon_that_starts_but_does_not_listen_is_reported() {
    let fake = Fake::new();
    let program = fake.script("opcp-credd", "exit 0");
    let err = Daemon::connect_to(&fake.location, Some(&program))
        .await
        .unwrap_err();
    assert!(
        err.hint
            .as_deref()
            .unwrap()
            .contains("exited successfully but nothing listens")
    );
}

#[tokio::test]
async fn autostart_runs_the_daemon_then_connects() {
    let fake = Fake::new();
    let real = fake.dir.path().join("real.sock");
    let listener = UnixListener::bind(&real).unwrap();
    let env_seen = fake.dir.path().join("env");
    // The "daemon" makes the socket appear (a symlink to the listener) and records its env.
    let program = fake.script(
        "opcp-credd",
        &format!(
            "printf %s \"${{OS_PASSWORD-none}} $#\" > '{}'; echo ready; ln -s '{}' '{}'",
            env_seen.display(),
            real.display(),
            fake.location.socket.display()
        ),
    );
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_request(&mut stream, &mut Vec::new()).await;
        let body = r#"{"profile":"pod","projects":[]}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(reply.as_bytes()).await.unwrap();
    });
    let mut daemon = Daemon::connect_to(&fake.location, Some(&program))
        .await
        .unwrap();
    let list: opcp_cred_proto::messages::ProjectList =
        daemon.get(&routes::profile_projects("pod")).await.unwrap();
    assert_eq!(list.profile, "pod");
    server.await.unwrap();
    assert_eq!(std::fs::read_to_string(env_seen).unwrap(), "none 0");
}
