//! `opcp-credd`: parse flags, harden, daemonise unless `--foreground`, then serve.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use opcp_cred_proto::messages::Timestamp;
use opcp_cred_proto::paths::{self, SocketLocation};
use opcp_credd::api::{self, AppState};
use opcp_credd::broker::Broker;
use opcp_credd::config::{self, ConfigFile};
use opcp_credd::startup::{self, Claim, Owner};
use opcp_credd::{harden, log_file, socket, systemd};

/// The opcp-cred daemon: keeps OpenStack credentials in the OS keyring and serves fresh
/// project-scoped Keystone tokens to `opcp-cred` over a Unix socket.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Socket path (default: $OPCP_CRED_SOCKET, else $XDG_RUNTIME_DIR/opcp-cred/daemon.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Stay in the foreground (systemd, debugging); otherwise detach once serving.
    #[arg(long)]
    foreground: bool,
    /// Log level or filter (error, warn, info, debug, trace; or an EnvFilter directive).
    #[arg(
        long,
        value_name = "LEVEL",
        default_value = "info",
        env = "OPCP_CREDD_LOG"
    )]
    log_level: String,
    /// Print `ready` on stdout once serving (used by the detaching parent).
    #[arg(long, hide = true)]
    ready_stdout: bool,
    /// Once this daemon owns the socket, log to PATH (the previous log becomes PATH.1).
    #[arg(long, hide = true, value_name = "PATH")]
    log_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    harden::harden_process();
    let args = Args::parse();
    let location = match &args.socket {
        Some(path) => SocketLocation {
            socket: path.clone(),
            private_dir: None,
        },
        None => paths::socket_location(),
    };
    let result = if args.foreground {
        init_tracing(&args.log_level);
        // While the process has one thread: see the function's doc.
        opcp_credd::store::join_private_session();
        run_foreground(&args, &location)
    } else {
        detach(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("opcp-credd: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    // The journal stamps every line itself.
    if systemd::under_systemd() {
        builder.without_time().init();
    } else {
        builder.init();
    }
}

fn run_foreground(args: &Args, location: &SocketLocation) -> anyhow::Result<()> {
    // systemd owns an activated socket; otherwise one daemon per socket, by lock.
    let activated = systemd::activated_listener().context("socket activation")?;
    let owner = match activated {
        Some(_) => None,
        None => match startup::claim(location).context("socket directory")? {
            Claim::Owner(owner) => Some(owner),
            Claim::Taken => return already_running(args, location),
        },
    };
    if let Some(path) = &args.log_file {
        log_file::redirect_stderr(path)
            .with_context(|| format!("cannot start the log {}", path.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args, location, activated, owner))
}

async fn serve(
    args: &Args,
    location: &SocketLocation,
    activated: Option<std::os::unix::net::UnixListener>,
    owner: Option<Owner>,
) -> anyhow::Result<()> {
    let config_path = config::default_path();
    let config = Arc::new(ConfigFile::open(config_path.clone()));
    if let Some(error) = config.last_error() {
        tracing::warn!("{error}; serving an empty config until it is fixed");
    }
    // `owner` holds the socket's lock until we return.
    let mut owner = owner;
    let bound = if let Some(listener) = activated {
        tracing::info!("serving the socket passed by systemd");
        socket::Bound {
            listener: tokio::net::UnixListener::from_std(listener)?,
            owned_path: None,
        }
    } else {
        let bound = socket::bind(&location.socket)
            .with_context(|| format!("cannot bind {}", location.socket.display()))?;
        if let Some(owner) = &mut owner {
            owner.bound();
        }
        bound
    };
    let socket = bound.owned_path.as_deref().map_or_else(
        || "passed by systemd".to_owned(),
        |p| p.display().to_string(),
    );
    tracing::info!(%socket, config = %config_path.display(), version = env!("CARGO_PKG_VERSION"), "opcp-credd serving");
    let broker = Arc::new(Broker::new(config));
    tokio::spawn(broker.clone().keep_fresh());
    tokio::spawn(systemd::keep_watchdog_fed());
    let state = AppState {
        broker,
        started_at: Timestamp::now(),
    };
    systemd::notify_ready();
    announce_ready(args);
    socket::serve(bound, api::app(state), shutdown_signal()).await;
    tracing::info!("opcp-credd stopped");
    Ok(())
}

/// Another daemon owns the socket and has bound it. When we were started to make sure one
/// is running, that is success once it answers; started by hand, it is an error.
fn already_running(args: &Args, location: &SocketLocation) -> anyhow::Result<()> {
    if !args.ready_stdout {
        bail!(
            "another opcp-credd is already serving {}",
            location.socket.display()
        );
    }
    std::os::unix::net::UnixStream::connect(&location.socket).with_context(|| {
        format!(
            "another opcp-credd holds {} but does not answer on {}",
            location.lock_file().display(),
            location.socket.display()
        )
    })?;
    announce_ready(args);
    Ok(())
}

fn announce_ready(args: &Args) {
    if args.ready_stdout {
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "ready").and_then(|()| stdout.flush());
    }
}

/// SIGTERM or SIGINT: shut down gracefully. SIGHUP is ignored (config edits are picked up
/// without it) so a closing terminal does not kill a daemon started from it.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("cannot install the SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("cannot install the SIGINT handler");
    let mut hup = signal(SignalKind::hangup()).expect("cannot install the SIGHUP handler");
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => tracing::info!("SIGHUP ignored: config.toml is re-read when it changes"),
        }
    }
    tracing::info!("shutting down");
    systemd::notify_stopping();
}

/// Start a detached copy of ourselves in the foreground mode and return once it serves, so
/// that whoever started us (the client's autostart) can connect right away.
fn detach(args: &Args) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("cannot find the opcp-credd executable")?;
    let log_path = log_file::path()?;
    let log_before = std::fs::metadata(&log_path).map(|meta| meta.ino()).ok();
    let mut command = Command::new(exe);
    command
        .args([
            "--foreground",
            "--ready-stdout",
            "--log-level",
            &args.log_level,
        ])
        .arg("--log-file")
        .arg(&log_path)
        .args(
            args.socket
                .iter()
                .flat_map(|path| [OsStr::new("--socket"), path.as_os_str()]),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Until it owns the socket and opens its log, the daemon's errors are ours to show.
        .stderr(Stdio::inherit())
        .process_group(0)
        .current_dir("/");
    let mut child = command.spawn().context("cannot start the daemon process")?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("waiting for the daemon")?;
    if line.trim() == "ready" {
        return Ok(());
    }
    let status = child.wait().context("waiting for the daemon")?;
    let log_after = std::fs::metadata(&log_path).map(|meta| meta.ino()).ok();
    if log_after.is_some() && log_after != log_before {
        bail!(
            "the daemon exited during start-up ({status}); the end of {}:\n{}",
            log_path.display(),
            tail(&log_path)
        )
    }
    bail!("the daemon exited during start-up ({status})")
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
