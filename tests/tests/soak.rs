//! A long run: steady memory, no file-descriptor growth, every request served.
//!
//! Ignored by default (it lasts `OPCP_CRED_SOAK_SECS`, 30 minutes unless set). Run it with
//! `cargo nextest run -p opcp-cred-tests --run-ignored only -E 'test(soak)' --no-capture`;
//! it prints its samples.

use std::time::{Duration, Instant};

use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::SimConfig;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("proc fd")
        .count()
}

#[test]
#[ignore = "a 30-minute soak; run on purpose"]
fn soak() {
    let secs: u64 = std::env::var("OPCP_CRED_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800);
    // Short lifetimes so that the run sees many refreshes.
    let sim = SimGuard::start(SimConfig {
        keystone_token_lifetime: Duration::from_secs(60),
        access_token_lifetime: Duration::from_secs(60),
        ..SimConfig::default()
    });
    let env = TestEnv::new(KeyringKind::SecretService);
    let daemon = DaemonGuard::start(&env);
    let pid = daemon.pid();
    let profiles: Vec<String> = (0..3).map(|i| env.profile(&format!("soak{i}"))).collect();
    let openrc = env.write_openrc(&sim, "openrc.sh");
    for profile in &profiles {
        ok(&env.run(["import", "--profile", profile, openrc.to_str().unwrap()]));
    }
    let until = Instant::now() + Duration::from_secs(secs);
    let mut samples = Vec::new();
    let mut served = 0u64;
    let mut next_sample = Instant::now();
    while Instant::now() < until {
        for profile in &profiles {
            ok(&env.run(["token", "--profile", profile]));
            served += 1;
        }
        if Instant::now() >= next_sample {
            let sample = (served, rss_kib(pid), open_fds(pid));
            println!(
                "soak: {served} requests served, RSS {} KiB, {} fds",
                sample.1, sample.2
            );
            samples.push(sample);
            next_sample += Duration::from_secs(secs / 20).max(Duration::from_secs(1));
        }
    }
    let counters = sim.counters();
    println!("soak: {served} requests in {secs} s; upstream: {counters:?}");
    let quarter = samples.len() / 4;
    let early = samples[quarter].1;
    let late = samples.last().expect("samples").1;
    assert!(
        late <= early + early / 5,
        "RSS grew from {early} KiB to {late} KiB"
    );
    let fds: Vec<usize> = samples.iter().map(|s| s.2).collect();
    assert!(
        fds.iter().max() <= Some(&(fds[quarter] + 2)),
        "fds grew: {fds:?}"
    );
}
