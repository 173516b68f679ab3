//! The demo: the whole opcp-cred flow against the built-in simulator, in a throw-away HOME
//! with a private keyring, using the real binaries and the real `openstack` CLI.
//!
//! `tests/demo.sh` builds everything and runs it.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use clap::Parser;
use opcp_cred_tests::bins;
use opcp_cred_tests::env::{SimGuard, TestEnv};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{SimConfig, fixture};

/// Run the opcp-cred demo against the cloud simulator.
#[derive(Debug, Parser)]
struct Args {
    /// The `openstack` CLI to authenticate with the token.
    #[arg(long, value_name = "PATH")]
    openstack: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    println!(
        "== a cloud simulator: Keycloak at {} and Keystone at {}",
        sim.keycloak_url(),
        sim.keystone_url()
    );
    println!(
        "== a throw-away HOME at {} with its own gnome-keyring\n",
        env.home.display()
    );

    let openrc = env.write_openrc(&sim, "openrc.sh");
    println!("== the openrc people have today (password and client secret in plain text):");
    print!("{}", std::fs::read_to_string(&openrc)?);

    step(
        &env,
        "opcp-cred import openrc.sh   (starts the daemon, verifies with a real login, stores the secrets in the keyring)",
        &mut env_client(&env, &["import", openrc.to_str().context("utf-8 path")?]),
    )?;
    std::fs::remove_file(&openrc)?;
    println!(
        "   the keyring now holds {}'s password: {}",
        fixture::USER,
        if env.keyring.read("default/password").as_deref() == Some(fixture::PASSWORD) {
            "yes (read back with secret-tool)"
        } else {
            "NO"
        }
    );

    step(
        &env,
        "opcp-cred env   (what `eval $(opcp-cred env)` evaluates)",
        &mut env_client(&env, &["env"]),
    )?;

    let script = format!(
        "eval $('{}' env) && '{}' token issue -c expires -c project_id",
        bins::client().display(),
        args.openstack.display()
    );
    step(
        &env,
        "eval $(opcp-cred env) && openstack token issue   (authenticated with the token alone)",
        env.command("bash").args(["-c", &script]),
    )?;

    let mut exec = env_client(&env, &["exec", "--"]);
    exec.arg(&args.openstack).args(["catalog", "list"]);
    step(&env, "opcp-cred exec -- openstack catalog list", &mut exec)?;

    let counters = sim.counters();
    println!(
        "== upstream requests for all of the above: {} password grant(s), {} federation auth(s), {} scope request(s)\n",
        counters.password_grant_ok, counters.federation_auth, counters.scope
    );

    step(&env, "opcp-cred status", &mut env_client(&env, &["status"]))?;
    step(
        &env,
        "opcp-cred logout   (revokes the tokens at Keystone, deletes the secrets)",
        &mut env_client(&env, &["logout"]),
    )?;
    stop_daemon(&env);
    println!("demo finished: every step succeeded");
    Ok(())
}

/// `opcp-cred ARGS` with autostart on, as a user has it.
fn env_client(env: &TestEnv, args: &[&str]) -> Command {
    let mut cmd = env.client(args);
    cmd.env_remove("OPCP_CRED_NO_AUTOSTART");
    cmd
}

fn step(env: &TestEnv, title: &str, cmd: &mut Command) -> anyhow::Result<()> {
    println!("== $ {title}");
    let out = cmd.output().with_context(|| format!("running {title}"))?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    println!();
    if !out.status.success() {
        stop_daemon(env);
        bail!("`{title}` failed with {}", out.status);
    }
    Ok(())
}

/// The autostarted daemon outlives our commands: stop it through its pid.
fn stop_daemon(env: &TestEnv) {
    let status = env.run(["status", "--json"]);
    let pid = serde_json::from_slice::<serde_json::Value>(&status.stdout)
        .ok()
        .and_then(|v| v["pid"].as_i64());
    if let Some(pid) = pid {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
}
