//! The measurements: processes timed side by side, the daemon under load, its memory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, openrc_text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::fixture::{
    CLIENT_ID, CLIENT_SECRET, ClientSpec, IdpSpec, PASSWORD, ProjectSpec, RealmSpec, USER, UserSpec,
};
use opcp_cred_tests::sim::{Fault, SimConfig, Target};
use tokio::runtime::Runtime;

use crate::Args;
use crate::load::{self, quantile};
use crate::report::{Table, ms, ratio};

/// The simulator, an isolated environment with one imported profile, and its daemon.
pub struct Bench {
    pub sim: SimGuard,
    pub env: TestEnv,
    pub daemon: Option<DaemonGuard>,
    pub profile: String,
}

impl Bench {
    pub fn start() -> Self {
        Self::with_sim(SimConfig::default(), |sim| openrc_text(sim))
    }

    /// A simulator from `config` and one profile imported from `openrc`.
    fn with_sim(config: SimConfig, openrc: impl Fn(&SimGuard) -> String) -> Self {
        let sim = SimGuard::start(config);
        let env = TestEnv::new(KeyringKind::Keyutils);
        let daemon = start_daemon(&env);
        let profile = env.profile("bench");
        ok(&env.import_text(&profile, &openrc(&sim)));
        Self {
            sim,
            env,
            daemon: Some(daemon),
            profile,
        }
    }

    pub fn body(&self) -> String {
        format!("{{\"profile\":\"{}\"}}", self.profile)
    }

    fn pid(&self) -> u32 {
        self.daemon.as_ref().expect("a running daemon").pid()
    }

    /// A daemon with an empty cache (the keyring keeps the secrets).
    fn restart(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.kill();
        }
        self.daemon = Some(start_daemon(&self.env));
    }
}

/// The daemon at its default log level, as users run it.
fn start_daemon(env: &TestEnv) -> DaemonGuard {
    let mut cmd = env.command(bins::daemon());
    cmd.args(["--foreground", "--ready-stdout"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    DaemonGuard::spawn_and_wait(cmd, env)
}

fn time(mut cmd: Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .status()
        .context("run a measured command")?;
    let took = started.elapsed();
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(took)
}

/// Alternate `a` and `b` `runs` times each; their medians.
pub fn side_by_side(
    runs: usize,
    a: impl Fn() -> Command,
    b: impl Fn() -> Command,
) -> anyhow::Result<(Duration, Duration)> {
    let (mut xs, mut ys) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        xs.push(time(a())?);
        ys.push(time(b())?);
    }
    Ok((quantile(&mut xs, 0.5), quantile(&mut ys, 0.5)))
}

pub fn client_against_floor(bench: &Bench, args: &Args, table: &mut Table) -> anyhow::Result<()> {
    let floor = || {
        let mut cmd = bench.env.command(bins::path("opcp-cred-bench-floor"));
        cmd.arg(bench.env.socket_path()).arg(bench.body());
        cmd
    };
    let client = |sub: &str| {
        let mut cmd = bench.env.client([sub, "--profile", &bench.profile]);
        cmd.stderr(Stdio::null());
        cmd
    };
    for sub in ["token", "env"] {
        let (ours, floor) = side_by_side(args.runs, || client(sub), floor)?;
        table.row(
            &format!("`opcp-cred {sub}`, warm cache, median of {}", args.runs),
            ms(ours),
            format!("floor binary {}", ms(floor)),
            ratio(ours, floor),
        );
    }
    let size = std::fs::metadata(bins::client())?.len();
    table.row(
        "client binary size",
        format!("{} KiB", size / 1024),
        String::new(),
        String::new(),
    );
    Ok(())
}

pub fn openstack(
    bench: &Bench,
    openstack: &Path,
    runs: usize,
    table: &mut Table,
) -> anyhow::Result<()> {
    let exports: serde_json::Value = serde_json::from_slice(&ok_output(bench.env.client([
        "env",
        "--shell",
        "json",
        "--profile",
        &bench.profile,
    ]))?)?;
    let with_token = || {
        let mut cmd = bench.env.command(openstack);
        cmd.args(["token", "issue", "-f", "value", "-c", "id"]);
        for (name, value) in exports["set"].as_object().expect("exports") {
            cmd.env(name, value.as_str().unwrap_or_default());
        }
        cmd
    };
    let with_password = || {
        let mut cmd = bench.env.command(openstack);
        cmd.args(["token", "issue", "-f", "value", "-c", "id"]);
        for line in openrc_text(&bench.sim).lines() {
            if let Some((name, value)) =
                line.strip_prefix("export ").and_then(|l| l.split_once('='))
            {
                cmd.env(name, value);
            }
        }
        cmd
    };
    let (password, token) = side_by_side(runs, with_password, with_token)?;
    table.row(
        &format!("`openstack token issue`, median of {runs}"),
        format!("token from opcp-cred {}", ms(token)),
        format!("v3oidcpassword {}", ms(password)),
        format!("{} faster", ratio(password, token)),
    );
    // Per token: opcp-cred's own cost against a full v3oidcpassword login by the CLI.
    let mut ours = Vec::new();
    for _ in 0..runs.max(20) {
        ours.push(time(bench.env.client([
            "token",
            "--profile",
            &bench.profile,
        ]))?);
    }
    let ours = quantile(&mut ours, 0.5);
    table.row(
        "per token: `opcp-cred token` vs a v3oidcpassword login",
        ms(ours),
        ms(password),
        format!("{} faster", ratio(password, ours)),
    );
    Ok(())
}

fn ok_output(mut cmd: Command) -> anyhow::Result<Vec<u8>> {
    let out = cmd.output()?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

pub async fn daemon_load(
    bench: &Bench,
    seconds: Duration,
    table: &mut Table,
) -> anyhow::Result<()> {
    let bare_socket = bench.env.dir.path().join("bare.sock");
    let mut bare = Command::new(bins::path("opcp-cred-bench-bare"))
        .arg(&bare_socket)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(bare.stdout.take().expect("piped")),
        &mut ready,
    )?;
    let body = bench.body();
    for connections in [1, 16, 64] {
        // Short rounds, alternating: the machine's noise falls on both sides alike.
        let (mut ours, mut theirs) = (Rounds::default(), Rounds::default());
        for _ in 0..LOAD_ROUNDS {
            let round = seconds / LOAD_ROUNDS;
            ours.add(
                load::sustained(&bench.env.socket_path(), &body, connections, round, None).await,
            )?;
            theirs.add(load::sustained(&bare_socket, &body, connections, round, None).await)?;
        }
        table.row(
            &format!("daemon, {connections} connections: req/s; p50, p99"),
            ours.describe(""),
            theirs.describe("bare axum "),
            format!(
                "{:.0}% of bare",
                100.0 * ours.per_second() / theirs.per_second()
            ),
        );
    }
    let _ = bare.kill();
    let _ = bare.wait();
    Ok(())
}

/// A cold storm against one request on a cold cache, `runs` of each, interleaved: first with
/// the loopback simulator answering at once, where connecting 200 clients on two shared cores
/// is most of the time; then with every upstream answer 20 ms late, as from a cloud a few
/// network round trips away. Every storm must have made exactly one login and one scope.
/// Rounds of load on one side of a throughput comparison.
const LOAD_ROUNDS: u32 = 5;

#[derive(Default)]
struct Rounds {
    per_second: Vec<f64>,
    latencies: Vec<Duration>,
}

impl Rounds {
    fn add(&mut self, load: load::Load) -> anyhow::Result<()> {
        if load.failed > 0 {
            bail!("{} requests failed under load", load.failed);
        }
        self.per_second.push(load.per_second());
        self.latencies.extend(load.latencies);
        Ok(())
    }

    /// The median round's throughput.
    fn per_second(&self) -> f64 {
        let mut rates = self.per_second.clone();
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    }

    fn describe(&mut self, who: &str) -> String {
        format!(
            "{who}{:.0}/s; {}, {}",
            self.per_second(),
            ms(quantile(&mut self.latencies, 0.5)),
            ms(quantile(&mut self.latencies, 0.99))
        )
    }
}

/// The simulator runs on its own runtime: set-up happens outside `runtime`, load inside.
pub fn storm(runtime: &Runtime, runs: usize, table: &mut Table) -> anyhow::Result<()> {
    let mut cold = Bench::start();
    let upstream = [
        ("loopback simulator", None),
        (
            "each upstream answer 20 ms late",
            Some(Duration::from_millis(20)),
        ),
    ];
    for (label, delay) in upstream {
        for target in [Target::Keycloak, Target::Keystone] {
            cold.sim.set_fault(target, delay.map(Fault::Delay));
        }
        let (mut singles, mut storms) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            cold.restart();
            let single = runtime.block_on(load::storm(&cold.env.socket_path(), &cold.body(), 1));
            cold.restart();
            cold.sim.reset_counters();
            let storm = runtime.block_on(load::storm(&cold.env.socket_path(), &cold.body(), 200));
            let counters = cold.sim.counters();
            if single.failed > 0 || storm.failed > 0 {
                bail!(
                    "cold requests failed: {} alone, {} of the storm",
                    single.failed,
                    storm.failed
                );
            }
            let flows = (
                counters.password_grant_ok,
                counters.federation_auth,
                counters.scope,
            );
            if flows != (1, 1, 1) {
                bail!(
                    "a storm made {flows:?} (password grants, federations, scopes), not one each"
                );
            }
            singles.push(single.elapsed);
            storms.push(storm.elapsed);
        }
        let one = quantile(&mut singles, 0.5);
        let all = quantile(&mut storms, 0.5);
        table.row(
            &format!(
                "cold storm: 200 concurrent requests, one uncached project, {label}; median of {runs}"
            ),
            format!("all served in {} (1 password grant, 1 federation, 1 scope each)", ms(all)),
            format!("one request alone {}", ms(one)),
            ratio(all, one),
        );
    }
    Ok(())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn memory(runtime: &Runtime, table: &mut Table) -> anyhow::Result<()> {
    let mut bench = Bench::start();
    bench.restart();
    let idle = rss_kib(bench.pid());
    let body = bench.body();
    let socket = bench.env.socket_path();
    let forever = Duration::from_secs(3600);
    let mut failed = runtime
        .block_on(load::sustained(&socket, &body, 16, forever, Some(10_000)))
        .failed;
    let after_10k = rss_kib(bench.pid());
    failed += runtime
        .block_on(load::sustained(&socket, &body, 16, forever, Some(90_000)))
        .failed;
    let after_100k = rss_kib(bench.pid());
    if failed > 0 {
        bail!("{failed} requests failed during the memory run");
    }
    table.row(
        "daemon RSS: idle; after 10 000; after 100 000 requests",
        format!("{idle} KiB; {after_10k} KiB; {after_100k} KiB"),
        String::new(),
        format!(
            "{:+} KiB from 10k to 100k",
            after_100k.cast_signed() - after_10k.cast_signed()
        ),
    );

    // 20 profiles × 5 projects: 100 cached tokens.
    let projects: Vec<ProjectSpec> = (0..5)
        .map(|i| ProjectSpec {
            id: format!("{:032x}", 0xabc0 + i),
            name: format!("project{i}"),
            domain_id: "default".into(),
        })
        .collect();
    let config = SimConfig {
        realms: vec![RealmSpec {
            name: "pod".into(),
            users: vec![UserSpec {
                username: USER.into(),
                password: opcp_cred_proto::Secret::new(PASSWORD),
                projects: projects.iter().map(|p| p.id.clone()).collect(),
                required_actions: false,
            }],
            clients: vec![ClientSpec {
                client_id: CLIENT_ID.into(),
                secret: opcp_cred_proto::Secret::new(CLIENT_SECRET),
                direct_access_grants: true,
            }],
        }],
        identity_providers: vec![IdpSpec {
            id: "keycloak".into(),
            realm: "pod".into(),
            protocol: "openid".into(),
        }],
        projects: projects.clone(),
        ..SimConfig::default()
    };
    let first_project = projects[0].id.clone();
    let openrc = move |sim: &SimGuard| {
        openrc_text(sim).replace(
            "OS_PROJECT_ID=11111111111111111111111111111111",
            &format!("OS_PROJECT_ID={first_project}"),
        )
    };
    let wide = Bench::with_sim(config, &openrc);
    let mut names = vec![wide.profile.clone()];
    for i in 1..20 {
        let name = wide.env.profile(&format!("wide{i}"));
        ok(&wide.env.import_text(&name, &openrc(&wide.sim)));
        names.push(name);
    }
    for name in &names {
        for project in &projects {
            ok(&wide
                .env
                .run(["token", "--profile", name, "--project-id", &project.id]));
        }
    }
    table.row(
        "daemon RSS with 20 profiles × 5 projects (100 tokens)",
        format!("{} KiB", rss_kib(wide.pid())),
        String::new(),
        String::new(),
    );
    Ok(())
}
