//! `opcp-credd`: parse flags, harden, daemonise unless `--foreground`, then serve.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use opcp_cred_proto::messages::Timestamp;
use opcp_cred_proto::paths::{self, SocketLocation};
use opcp_credd::api::{self, AppState};
use opcp_credd::broker::Broker;
use opcp_credd::config::{self, ConfigFile};
use opcp_credd::{harden, socket, systemd};
use rustix::fs::FlockOperation;

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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args, location))
}

async fn serve(args: &Args, location: &SocketLocation) -> anyhow::Result<()> {
    let config_path = config::default_path();
    let config = Arc::new(
        ConfigFile::open(config_path.clone())
            .with_context(|| format!("cannot load {}", config_path.display()))?,
    );
    let activated = systemd::activated_listener().context("socket activation")?;
    let (bound, _lock) = if let Some(listener) = activated {
        tracing::info!("serving the socket passed by systemd");
        let listener = tokio::net::UnixListener::from_std(listener)?;
        let bound = socket::Bound {
            listener,
            owned_path: None,
        };
        (bound, None)
    } else {
        let Some(lock) = take_startup_lock(location)? else {
            return already_running(args, location).await;
        };
        let bound = socket::bind(&location.socket)
            .with_context(|| format!("cannot bind {}", location.socket.display()))?;
        (bound, Some(lock))
    };
    let socket = bound.owned_path.as_deref().map_or_else(
        || "passed by systemd".to_owned(),
        |p| p.display().to_string(),
    );
    tracing::info!(%socket, config = %config_path.display(), version = env!("CARGO_PKG_VERSION"), "opcp-credd serving");
    let state = AppState {
        broker: Arc::new(Broker::new(config)),
        started_at: Timestamp::now(),
    };
    systemd::notify_ready();
    announce_ready(args);
    socket::serve(bound, api::app(state), shutdown_signal()).await;
    tracing::info!("opcp-credd stopped");
    Ok(())
}

/// The lock that makes one daemon per socket: held for the life of the process. `None` when
/// another daemon holds it.
fn take_startup_lock(location: &SocketLocation) -> anyhow::Result<Option<std::fs::File>> {
    if let Some(dir) = &location.private_dir {
        paths::ensure_private_dir(dir)
            .with_context(|| format!("socket directory {}", dir.display()))?;
    }
    let lock_path = location.lock_file();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot lock {}", lock_path.display())),
    }
}

/// Another daemon owns the socket. When we were started to make sure one is running, that is
/// success once it answers; started by hand, it is an error.
async fn already_running(args: &Args, location: &SocketLocation) -> anyhow::Result<()> {
    if !args.ready_stdout {
        bail!(
            "another opcp-credd is already serving {}",
            location.socket.display()
        );
    }
    // It may still be between taking the lock and binding: wait for it to answer.
    for _ in 0..200 {
        if tokio::net::UnixStream::connect(&location.socket)
            .await
            .is_ok()
        {
            announce_ready(args);
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!(
        "another opcp-credd holds {} but does not answer",
        location.lock_file().display()
    )
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
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("cannot find the opcp-credd executable")?;
    let log_path = log_file()?;
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut command = Command::new(exe);
    command
        .args([
            "--foreground",
            "--ready-stdout",
            "--log-level",
            &args.log_level,
        ])
        .args(
            args.socket
                .iter()
                .flat_map(|path| [OsStr::new("--socket"), path.as_os_str()]),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
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
    bail!(
        "the daemon exited during start-up ({status}):\n{}",
        tail(&log_path)
    )
}

/// Where a detached daemon writes its log: `$XDG_STATE_HOME/opcp-cred/opcp-credd.log`.
fn log_file() -> anyhow::Result<PathBuf> {
    let dirs = directories::BaseDirs::new().context("cannot find your home directory")?;
    let dir = dirs
        .state_dir()
        .map_or_else(|| dirs.home_dir().join(".local/state"), Path::to_path_buf)
        .join("opcp-cred");
    paths::ensure_private_dir(&dir).with_context(|| format!("log directory {}", dir.display()))?;
    Ok(dir.join("opcp-credd.log"))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
