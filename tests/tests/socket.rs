//! The socket: modes, the peer uid check, garbage on the wire, socket activation, unit files.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Stdio;

use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::{DaemonGuard, daemon_log};
use opcp_cred_tests::env::{TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn socket_dir_is_0700_and_socket_0600() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let socket = env.socket_path();
    assert_eq!(mode(socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&socket), 0o600);
    ok(&env.run(["status"]));
}

#[test]
fn a_client_of_another_uid_is_refused_even_when_the_socket_is_world_writable() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let open_dir = env.dir.path().join("open");
    std::fs::create_dir(&open_dir).unwrap();
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = open_dir.join("daemon.sock");
    let mut cmd = env.command(bins::daemon());
    cmd.args(["--foreground", "--ready-stdout", "--socket"])
        .arg(&socket)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(env.dir.path().join("daemon.log")).unwrap());
    let _daemon = DaemonGuard::spawn_and_wait(cmd, &env);
    // Defeat the file mode on purpose: only SO_PEERCRED stands in the way now.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();

    let out = env
        .command("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bins::client())
        .arg("status")
        .env("OPCP_CRED_SOCKET", &socket)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "another uid got an answer: {stdout}");
    assert!(!stdout.contains("api_version"), "{stdout}");
    assert!(
        daemon_log(&env).contains("refused a connection from another user"),
        "{stderr}\n{}",
        daemon_log(&env)
    );
    // We still get served.
    ok(&env
        .client(["status"])
        .env("OPCP_CRED_SOCKET", &socket)
        .output()
        .unwrap());
}

#[test]
fn garbage_on_the_socket_does_not_hurt_the_daemon() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let payloads: [&[u8]; 5] = [
        b"\x00\xff\xfe garbage \r\n\r\n",
        b"GET /v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{{{{{",
        b"PUT /v1/profiles/..%2f..%2fetc HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        b"A".repeat(100_000).leak(),
    ];
    for payload in payloads {
        let mut stream = UnixStream::connect(env.socket_path()).unwrap();
        let _ = stream.write_all(payload);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        if let Some(status_line) = reply.split(|b| *b == b'\n').next() {
            let line = String::from_utf8_lossy(status_line);
            assert!(!line.contains(" 200 ") && !line.contains(" 500 "), "{line}");
        }
    }
    // A huge body is cut off by the limit, with the one error shape.
    let body = format!("{{\"profile\":\"{}\"}}", "x".repeat(100_000));
    let mut stream = UnixStream::connect(env.socket_path()).unwrap();
    write!(stream, "POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 4"), "{reply}");
    ok(&env.run(["status"]));
}

#[test]
fn socket_activation_serves_the_passed_socket() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let socket = env.dir.path().join("activated.sock");
    let mut activator = env
        .command("systemd-socket-activate")
        .arg("-l")
        .arg(&socket)
        .arg(bins::daemon())
        .args(["--foreground", "--log-level", "debug"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-socket-activate (package systemd)");
    // It says "Listening on …" once the socket is bound.
    let mut stderr = BufReader::new(activator.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("Listening"), "{line}");
    // Keep draining into the log: the activator and the daemon write on, and a closed pipe
    // would kill them with SIGPIPE.
    let mut log = std::fs::File::create(env.dir.path().join("daemon.log")).unwrap();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut log));
    let out = env
        .client(["status", "--json"])
        .env("OPCP_CRED_SOCKET", &socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}\n{}",
        text(&out),
        daemon_log(&env)
    );
    let status: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(status["api_version"], 1);
    assert_eq!(
        status["pid"],
        activator.id(),
        "the activator execs the daemon in place"
    );
    let _ = activator.kill();
    let _ = activator.wait();
}

#[test]
fn systemd_accepts_both_units() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let bin_dir = env.home.join(".cargo/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(bins::daemon(), bin_dir.join("opcp-credd")).unwrap();
    let units = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd");
    let out = env
        .command("systemd-analyze")
        .args(["--user", "verify"])
        .arg(units.join("opcp-credd.socket"))
        .arg(units.join("opcp-credd.service"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.trim().is_empty(), "warnings: {stderr}");
}

/// `opcp-cred ARGS` with autostart on, as a user has it.
fn autostarting(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut cmd = env.client(args);
    cmd.env_remove("OPCP_CRED_NO_AUTOSTART");
    cmd.output().unwrap()
}

fn daemon_pid(output: &std::process::Output) -> i64 {
    let status: serde_json::Value = serde_json::from_str(&ok(output)).unwrap();
    status["pid"].as_i64().expect("pid")
}

#[test]
fn the_client_starts_the_daemon_when_nothing_answers() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let pid = daemon_pid(&autostarting(&env, &["status", "--json"]));
    assert_eq!(mode(env.socket_path().parent().unwrap()), 0o700);
    // A second client finds the same daemon.
    assert_eq!(daemon_pid(&autostarting(&env, &["status", "--json"])), pid);
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
}

#[test]
fn concurrent_autostarts_end_with_one_daemon() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let pids: Vec<i64> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..10)
            .map(|_| scope.spawn(|| daemon_pid(&autostarting(&env, &["status", "--json"]))))
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .collect()
    });
    assert!(pids.iter().all(|p| *p == pids[0]), "{pids:?}");
    let _ = std::process::Command::new("kill")
        .arg(pids[0].to_string())
        .status();
}
