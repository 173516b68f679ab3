//! `opcp-cred-bench`: opcp-cred measured side by side, in one run, on one machine.
//!
//! Build everything in release first (`benches/run.sh` does): the bench finds `opcp-cred`,
//! `opcp-credd` and its two helpers beside itself. It starts the cloud simulator and a daemon
//! in a throw-away HOME (keyutils keyring), then measures:
//! 1. `opcp-cred token` (warm cache, whole process) against the floor binary;
//! 2. `opcp-cred env` the same way, and what the bash prompt hook adds to a prompt;
//! 3. `openstack token issue` with `v3oidcpassword` against the same with `opcp-cred env`'s
//!    exports (only with `--openstack PATH`);
//! 4. daemon throughput and latency with 1, 16 and 64 connections against a bare axum server;
//! 5. a cold storm: 200 concurrent requests on a cold cache against one request, with the
//!    simulator answering at once and 20 ms late;
//! 6. daemon RSS: idle, after 10 000 and 100 000 requests, with 20 profiles × 5 projects.
//!
//! Runs are interleaved (A, B, A, B…) so that the machine's noise hits both sides alike; the
//! table shows medians and ratios.

// Statistics: counts and durations become floating point and back; the precision is ample.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod hook;
mod load;
mod procs;
mod report;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Benchmarks of opcp-cred, side by side.
#[derive(Debug, Parser)]
struct Args {
    /// Runs of each whole-process measurement.
    #[arg(long, default_value_t = 300)]
    runs: usize,
    /// Seconds of load per side and connection count, split into alternating rounds.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// The real `openstack` CLI, to compare v3oidcpassword with opcp-cred's token.
    #[arg(long)]
    openstack: Option<PathBuf>,
    /// Runs of each `openstack` measurement (each takes a second or more).
    #[arg(long, default_value_t = 5)]
    openstack_runs: usize,
    /// Runs of each cold storm and of the single request it is compared with.
    #[arg(long, default_value_t = 7)]
    storm_runs: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut table = report::Table::default();
    let bench = procs::Bench::start();
    procs::client_against_floor(&bench, &args, &mut table)?;
    hook::prompt_cost(&bench, args.runs / 10, &mut table)?;
    if let Some(openstack) = &args.openstack {
        procs::openstack(&bench, openstack, args.openstack_runs, &mut table)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(procs::daemon_load(
        &bench,
        Duration::from_secs(args.seconds),
        &mut table,
    ))?;
    drop(bench);
    procs::storm(&runtime, args.storm_runs, &mut table)?;
    procs::memory(&runtime, &mut table)?;
    print!("{}", table.render());
    Ok(())
}
