//! Tokens that never go stale: background refresh, outages, a rotated password, a server
//! clock that is off, Keycloak's refresh tokens. Lifetimes are seconds here; a client polls
//! every 100 ms, as a busy prompt or script would.

use std::time::{Duration, Instant, SystemTime};

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{Counters, Fault, SimConfig, Target};

const POLL_EVERY: Duration = Duration::from_millis(100);

struct Fixture {
    sim: SimGuard,
    env: TestEnv,
    profile: String,
    _daemon: DaemonGuard,
}

fn start(config: SimConfig) -> Fixture {
    start_with_clock_offset(config, 0)
}

/// A simulator whose clock is `offset_secs` ahead of the host's, from before the first login.
fn start_with_clock_offset(config: SimConfig, offset_secs: i64) -> Fixture {
    let sim = SimGuard::start(config);
    sim.set_clock_offset(offset_secs);
    let env = TestEnv::new(KeyringKind::SecretService);
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile("fresh");
    let openrc = env.write_openrc(&sim, "openrc.sh");
    ok(&env.run(["import", "--profile", &profile, openrc.to_str().unwrap()]));
    sim.reset_counters();
    Fixture {
        sim,
        env,
        profile,
        _daemon: daemon,
    }
}

fn lifetimes(keystone: u64, access: u64, refresh: u64) -> SimConfig {
    SimConfig {
        keystone_token_lifetime: Duration::from_secs(keystone),
        access_token_lifetime: Duration::from_secs(access),
        refresh_token_lifetime: Duration::from_secs(refresh),
        ..SimConfig::default()
    }
}

/// One `opcp-cred env --shell json` call.
struct Poll {
    took: Duration,
    /// The token and how long it had left by its exported expiry, or the exit code and stderr.
    outcome: Result<(String, Duration), (Option<i32>, String)>,
}

fn poll(f: &Fixture, min_valid: &str) -> Poll {
    let started = Instant::now();
    let out = f.env.run([
        "env",
        "--shell",
        "json",
        "--profile",
        &f.profile,
        "--min-valid",
        min_valid,
    ]);
    let took = started.elapsed();
    if !out.status.success() {
        return Poll {
            took,
            outcome: Err((out.status.code(), text(&out).1)),
        };
    }
    let vars: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json exports");
    let expires: opcp_cred_proto::messages::Timestamp = vars["set"]["OPCP_CRED_EXPIRES_AT"]
        .as_str()
        .expect("expiry exported")
        .parse()
        .expect("an RFC 3339 expiry");
    let left = expires.remaining(SystemTime::now());
    let token = vars["set"]["OS_TOKEN"]
        .as_str()
        .expect("token exported")
        .to_owned();
    Poll {
        took,
        outcome: Ok((token, left)),
    }
}

/// Poll for `how_long`, pacing like a client that asks every 100 ms.
fn poll_for(f: &Fixture, how_long: Duration, min_valid: &str) -> Vec<Poll> {
    let until = Instant::now() + how_long;
    let mut polls = Vec::new();
    while Instant::now() < until {
        polls.push(poll(f, min_valid));
        // The pace of the client under test, not a wait for an event.
        std::thread::sleep(POLL_EVERY);
    }
    polls
}

/// What poll `i` had left; it must have been served.
fn served(i: usize, p: &Poll) -> Duration {
    match &p.outcome {
        Ok((_, left)) => *left,
        Err(e) => panic!("poll {i} failed: {e:?}"),
    }
}

fn logins(counters: Counters) -> u64 {
    counters.password_grant_ok + counters.refresh_grant
}

#[test]
fn tokens_are_refreshed_in_the_background_and_calls_never_wait_on_upstream() {
    let lifetime = 16;
    let f = start(lifetimes(lifetime, lifetime, 600));
    // Any call that waited on Keycloak would take this long at least.
    let upstream_delay = Duration::from_secs(1);
    f.sim
        .set_fault(Target::Keycloak, Some(Fault::Delay(upstream_delay)));
    let polls = poll_for(&f, Duration::from_secs(3 * lifetime), "2s");
    assert!(polls.len() > 100, "{} polls", polls.len());
    for (i, p) in polls.iter().enumerate() {
        let left = served(i, p);
        // The exported expiry has whole seconds: 2 s asked, at least 1 s shown.
        assert!(
            left >= Duration::from_secs(1),
            "poll {i}: only {left:?} left"
        );
        assert!(
            p.took < upstream_delay,
            "poll {i} waited {:?}: not a cache hit",
            p.took
        );
    }
    let distinct: std::collections::HashSet<&str> = polls
        .iter()
        .filter_map(|p| p.outcome.as_ref().ok())
        .map(|(t, _)| t.as_str())
        .collect();
    assert!(
        distinct.len() >= 3,
        "the token was renewed: {} tokens",
        distinct.len()
    );
    let counters = f.sim.counters();
    // One login per lifetime: 3 lifetimes, refreshing at 75 %.
    assert!((3..=4).contains(&logins(counters)), "{counters:?}");
}

#[test]
fn an_outage_serves_the_cached_token_then_fails_fast_with_backoff_then_recovers() {
    let lifetime = 6;
    let f = start(lifetimes(lifetime, lifetime, 600));
    f.sim
        .set_fault(Target::KeycloakToken, Some(Fault::Status(503)));
    let polls = poll_for(&f, Duration::from_secs(20), "1s");
    let served = polls.iter().take_while(|p| p.outcome.is_ok()).count();
    assert!(
        served > 20,
        "the cached token was served while valid ({served} polls)"
    );
    for p in &polls[served..] {
        let (code, stderr) = p
            .outcome
            .as_ref()
            .expect_err("no token while keycloak is down");
        assert_eq!(*code, Some(6), "{stderr}");
        assert!(stderr.contains("keycloak"), "{stderr}");
        assert!(
            p.took < Duration::from_secs(2),
            "a failing call must not hang: {:?}",
            p.took
        );
    }
    let attempts = f.sim.counters().faulted;
    assert!(
        (2..=7).contains(&attempts),
        "backoff: {attempts} attempts in 20 s, not one per poll"
    );
    let status: serde_json::Value =
        serde_json::from_str(&ok(&f.env.run(["status", "--json"]))).expect("status json");
    let profile = &status["profiles"].as_array().expect("profiles")[0];
    assert_eq!(
        profile["last_error"]["kind"], "upstream_unavailable",
        "{profile}"
    );

    // Keycloak is back: a later call works with no `login`.
    f.sim.set_fault(Target::KeycloakToken, None);
    let deadline = Instant::now() + Duration::from_secs(70);
    let recovered = loop {
        let p = poll(&f, "1s");
        if p.outcome.is_ok() || Instant::now() > deadline {
            break p;
        }
        std::thread::sleep(POLL_EVERY);
    };
    assert!(recovered.outcome.is_ok(), "{:?}", recovered.outcome.err());
    assert_eq!(f.sim.counters().password_grant_failed, 0);
}

#[test]
fn a_rotated_password_is_tried_once_and_env_names_login() {
    let lifetime = 4;
    // The refresh token dies first, so a new token needs the password.
    let f = start(SimConfig {
        session_max_lifetime: Duration::from_secs(2),
        ..lifetimes(lifetime, lifetime, 2)
    });
    f.sim.set_password("pod", "alice", "rotated-fake-password");
    let polls = poll_for(&f, Duration::from_secs(3 * lifetime), "1s");
    assert!(
        polls.iter().any(|p| p.outcome.is_err()),
        "the old token expired"
    );
    let last = polls.last().expect("polls");
    let (code, stderr) = last.outcome.as_ref().expect_err("login needed");
    assert_eq!(*code, Some(4), "{stderr}");
    assert!(stderr.contains("opcp-cred login"), "{stderr}");
    let failed = f.sim.counters().password_grant_failed;
    assert!(
        (1..=2).contains(&failed),
        "{failed} password attempts: the account would lock"
    );
}

#[test]
fn a_server_clock_ten_minutes_ahead_still_refreshes_in_time() {
    let lifetime = 8;
    let f = start_with_clock_offset(lifetimes(lifetime, lifetime, 600), 600);
    let polls = poll_for(&f, Duration::from_secs(3 * lifetime), "2s");
    for (i, p) in polls.iter().enumerate() {
        let left = served(i, p);
        assert!(
            left >= Duration::from_secs(1) && left <= Duration::from_secs(lifetime),
            "poll {i}: {left:?}"
        );
    }
    assert!(
        logins(f.sim.counters()) >= 2,
        "refreshed: {:?}",
        f.sim.counters()
    );
    // Keystone accepts what is served now.
    let out = f
        .env
        .client(["exec", "--profile", &f.profile, "--"])
        .arg(opcp_cred_tests::bins::openstack())
        .args(["token", "issue", "-f", "value", "-c", "id"])
        .output()
        .expect("openstack");
    ok(&out);
}

#[test]
fn refresh_tokens_are_used_while_they_live_then_one_password_grant() {
    let lifetime = 4;
    let f = start(SimConfig {
        session_max_lifetime: Duration::from_secs(10),
        ..lifetimes(lifetime, lifetime, 600)
    });
    // The session from the import ends 10 s after it: until then, refresh grants only.
    poll_for(&f, Duration::from_secs(8), "1s");
    let counters = f.sim.counters();
    assert_eq!(counters.password_grant_ok, 0, "{counters:?}");
    assert!(counters.refresh_grant >= 1, "{counters:?}");
    poll_for(&f, Duration::from_secs(8), "1s");
    let counters = f.sim.counters();
    assert_eq!(counters.password_grant_ok, 1, "{counters:?}");
}
