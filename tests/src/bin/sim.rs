//! `opcp-cred-sim`: runs the Keycloak + Keystone simulator until SIGINT or SIGTERM, for the
//! demo and for trying the real `openstack` client by hand.
//!
//! Prints both URLs and an openrc for the fixture user on stdout; `GET /_sim/counters` on
//! the Keycloak URL shows how many logins, scopes… happened.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use opcp_cred_tests::sim::{RescopeExpiry, Sim, SimConfig};
use tokio::signal::unix::{SignalKind, signal};

/// A simulated OpenStack cloud federated to Keycloak, on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "opcp-cred-sim", version)]
struct Args {
    /// Path Keystone is served under, e.g. /identity.
    #[arg(long, default_value = "")]
    prefix: String,
    /// Serve HTTPS with a certificate signed by a CA made at start (see --ca-file).
    #[arg(long)]
    tls: bool,
    /// Where to write the CA certificate with --tls [default: a file in the temp dir].
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// Keycloak access token lifetime, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    access_token_lifetime: u64,
    /// Keycloak refresh token lifetime, in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECS")]
    refresh_token_lifetime: u64,
    /// Keystone token lifetime, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    keystone_token_lifetime: u64,
    /// Give rescoped tokens a full lifetime, as Keystone releases before the 2025 fix did for
    /// federated users (default: they expire with the token they came from, as now).
    #[arg(long)]
    fresh_rescope: bool,
    /// Keycloak port (0: any free port).
    #[arg(long, default_value_t = 0)]
    keycloak_port: u16,
    /// Keystone port (0: any free port).
    #[arg(long, default_value_t = 0)]
    keystone_port: u16,
    /// Once listening, write KEYCLOAK_URL=…, KEYSTONE_URL=… (and CA_FILE=…) lines here,
    /// atomically, so a script can wait for the file.
    #[arg(long, value_name = "PATH")]
    port_file: Option<PathBuf>,
}

impl Args {
    fn config(&self) -> SimConfig {
        SimConfig {
            keystone_prefix: self.prefix.clone(),
            tls: self.tls,
            access_token_lifetime: Duration::from_secs(self.access_token_lifetime),
            refresh_token_lifetime: Duration::from_secs(self.refresh_token_lifetime),
            keystone_token_lifetime: Duration::from_secs(self.keystone_token_lifetime),
            rescope_expiry: if self.fresh_rescope {
                RescopeExpiry::Fresh
            } else {
                RescopeExpiry::KeepSource
            },
            keycloak_port: self.keycloak_port,
            keystone_port: self.keystone_port,
            ..SimConfig::default()
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Listen for signals before announcing the URLs, so a script that kills us as soon as
    // it reads them does not hit the default (abrupt) disposition.
    let mut terminate = signal(SignalKind::terminate()).context("install a SIGTERM handler")?;
    let sim = Sim::start(args.config())
        .await
        .context("start the simulator")?;
    let ca_file = match sim.ca_pem() {
        Some(pem) => Some(write_ca(args.ca_file.clone(), &pem)?),
        None => None,
    };
    announce(&sim, ca_file.as_deref())?;
    if let Some(path) = &args.port_file {
        write_port_file(path, &sim, ca_file.as_deref())?;
    }
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("wait for SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

fn announce(sim: &Sim, ca_file: Option<&Path>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "# Keycloak: {}", sim.keycloak_url())?;
    writeln!(out, "# Keystone: {}", sim.keystone_url())?;
    writeln!(out, "# Counters: {}/_sim/counters", sim.keycloak_url())?;
    write!(out, "{}", sim.openrc(ca_file))?;
    out.flush().context("write the openrc to stdout")
}

fn write_ca(path: Option<PathBuf>, pem: &str) -> anyhow::Result<PathBuf> {
    let path = path.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("opcp-cred-sim-{}-ca.pem", std::process::id()))
    });
    std::fs::write(&path, pem)
        .with_context(|| format!("write the CA certificate to {}", path.display()))?;
    Ok(path)
}

fn write_port_file(path: &Path, sim: &Sim, ca_file: Option<&Path>) -> anyhow::Result<()> {
    let ca_line = ca_file.map_or_else(String::new, |ca| format!("CA_FILE={}\n", ca.display()));
    let contents = format!(
        "KEYCLOAK_URL={}\nKEYSTONE_URL={}\n{ca_line}",
        sim.keycloak_url(),
        sim.keystone_url()
    );
    // Write beside the target and rename, so a reader never sees half a file.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("write the port file {}", path.display()))
}
