//! SIGTERM while requests are in flight: every one of them is answered, then the daemon
//! exits 0 and removes its socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{Fault, SimConfig, Target};

#[test]
fn sigterm_lets_twenty_in_flight_requests_finish() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile("stop");
    let openrc = env.write_openrc(&sim, "openrc.sh");
    ok(&env.run(["import", "--profile", &profile, openrc.to_str().unwrap()]));
    // A cold cache and a slow Keycloak: the next requests wait upstream for 2 s.
    daemon.kill();
    let daemon = DaemonGuard::start(&env);
    sim.set_fault(
        Target::KeycloakToken,
        Some(Fault::Delay(Duration::from_secs(2))),
    );
    sim.reset_counters();

    let body = format!("{{\"profile\":\"{profile}\"}}");
    let request = format!(
        "POST /v1/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut streams: Vec<UnixStream> = (0..20)
        .map(|_| {
            let mut stream = UnixStream::connect(env.socket_path()).expect("connect");
            stream.write_all(request.as_bytes()).expect("send");
            stream
        })
        .collect();
    // The upstream flow has begun: the requests are being served.
    while sim.counters().discovery == 0 {
        std::thread::yield_now();
    }

    let status = daemon.terminate();
    for (i, stream) in streams.iter_mut().enumerate() {
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("read the reply");
        assert!(reply.starts_with("HTTP/1.1 200"), "request {i}: {reply}");
        assert!(reply.contains("\"token\""), "request {i}: {reply}");
    }
    assert!(status.success(), "opcp-credd exited with {status}");
    assert!(!env.socket_path().exists(), "the socket file is removed");
    assert_eq!(
        sim.counters().password_grant_ok,
        1,
        "one flow for all twenty"
    );
}
