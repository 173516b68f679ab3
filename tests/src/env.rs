//! One isolated environment per test: a temp dir with HOME, XDG dirs, the socket, a private
//! keyring, and scrubbed commands for the real binaries.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bins;
use crate::keyring::{KeyringKind, TestKeyring};
use crate::sim::{Sim, fixture};

static PROFILES: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub runtime_dir: PathBuf,
    pub keyring: TestKeyring,
}

impl TestEnv {
    pub fn new(kind: KeyringKind) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("opcp-cred-test-")
            .tempdir()
            .expect("temp dir");
        let home = dir.path().join("home");
        let runtime_dir = dir.path().join("run");
        for d in [&home, &runtime_dir] {
            std::fs::create_dir_all(d).expect("create test dirs");
        }
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700))
            .expect("chmod runtime dir");
        let keyring = TestKeyring::start(kind, &home, &runtime_dir);
        let env = Self {
            dir,
            home,
            runtime_dir,
            keyring,
        };
        env.write_config(&format!("keyring = \"{}\"\n", kind.config_value()));
        env
    }

    /// A profile name no other test process uses (keyutils entries are shared per uid).
    pub fn profile(&self, base: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .subsec_nanos();
        // The pid alone is reused across runs, and keyutils entries outlive test processes.
        format!(
            "{base}-{}-{nanos:x}-{}",
            std::process::id(),
            PROFILES.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.join(".config/opcp-cred/config.toml")
    }

    pub fn write_config(&self, text: &str) {
        let path = self.config_path();
        std::fs::create_dir_all(path.parent().expect("config dir")).expect("mkdir config");
        std::fs::write(path, text).expect("write config");
    }

    pub fn socket_path(&self) -> PathBuf {
        self.runtime_dir.join("opcp-cred/daemon.sock")
    }

    /// A command with nothing of the caller's environment but PATH, and the test's HOME,
    /// XDG dirs and keyring. Autostart is off unless a test turns it on.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_STATE_HOME", self.home.join(".local/state"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("LANG", "C.UTF-8")
            .env("OPCP_CRED_NO_AUTOSTART", "1")
            .current_dir(&self.home)
            .stdin(Stdio::null());
        for (k, v) in self.keyring.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// `opcp-cred ARGS…`.
    pub fn client<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(bins::client());
        cmd.args(args);
        cmd
    }

    /// Run `opcp-cred ARGS…` and return its output.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.client(args).output().expect("run opcp-cred")
    }

    /// `opcp-cred import --profile PROFILE -` with `openrc` on standard input.
    pub fn import_text(&self, profile: &str, openrc: &str) -> Output {
        let mut child = self
            .client(["import", "--profile", profile, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run opcp-cred import");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(openrc.as_bytes())
            .expect("write the openrc");
        child.wait_with_output().expect("wait for opcp-cred import")
    }

    /// An openrc file in the OPCP guide's format for the simulator's fixture user.
    pub fn write_openrc(&self, sim: &Sim, name: &str) -> PathBuf {
        let path = self.home.join(name);
        std::fs::write(&path, openrc_text(sim)).expect("write openrc");
        path
    }

    /// [`openrc_text`], plus `OS_CACERT` naming the simulator's CA (written to `ca.pem` in
    /// the test's home) when it serves TLS.
    pub fn openrc_trusting(&self, sim: &Sim) -> String {
        let mut openrc = openrc_text(sim);
        if let Some(ca) = sim.ca_pem() {
            let path = self.path("ca.pem");
            std::fs::write(&path, ca).expect("write the CA");
            openrc.push_str("export OS_CACERT=");
            openrc.push_str(&path.display().to_string());
            openrc.push('\n');
        }
        openrc
    }

    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.home.join(rel)
    }
}

/// The openrc the OPCP guide's generator writes (v3oidcpassword, plain text secrets), for the
/// simulator's fixture user of realm `pod` on project `web`.
pub fn openrc_text(sim: &Sim) -> String {
    openrc_with(
        sim,
        &sim.keystone_url(),
        fixture::REALM,
        fixture::PROJECT_WEB_ID,
    )
}

/// The same for the fixture user of `realm` (`pod` or `master`, with its identity provider)
/// on `project_id`, with Keystone at `keystone_url`.
pub fn openrc_with(sim: &Sim, keystone_url: &str, realm: &str, project_id: &str) -> String {
    let (idp, user) = if realm == fixture::ADMIN_REALM {
        (fixture::ADMIN_IDP, fixture::ADMIN_USER)
    } else {
        (fixture::IDP, fixture::USER)
    };
    format!(
        "# OpenStack credentials for the {realm} realm\n\
         export OS_AUTH_TYPE=v3oidcpassword\n\
         export OS_AUTH_URL={keystone_url}\n\
         export OS_IDENTITY_PROVIDER={idp}\n\
         export OS_PROTOCOL=openid\n\
         export OS_CLIENT_ID={client_id}\n\
         export OS_CLIENT_SECRET={client_secret}\n\
         export OS_DISCOVERY_ENDPOINT={discovery}\n\
         export OS_USERNAME={user}\n\
         export OS_PASSWORD={password}\n\
         export OS_PROJECT_ID={project_id}\n\
         export OS_INTERFACE=public\n\
         export OS_IDENTITY_API_VERSION=3\n",
        client_id = fixture::CLIENT_ID,
        client_secret = fixture::CLIENT_SECRET,
        discovery = sim.discovery_url(realm),
        password = fixture::PASSWORD,
    )
}

/// A simulator with the runtime it runs on; both stop on drop.
#[derive(Debug)]
pub struct SimGuard {
    pub sim: Sim,
    runtime: tokio::runtime::Runtime,
}

impl SimGuard {
    pub fn start(config: crate::sim::SimConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sim = runtime
            .block_on(Sim::start(config))
            .expect("start the simulator");
        Self { sim, runtime }
    }

    /// Run a future on the simulator's runtime (for the odd async helper in a test).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl std::ops::Deref for SimGuard {
    type Target = Sim;
    fn deref(&self) -> &Sim {
        &self.sim
    }
}

/// The text of a command's stdout and stderr, for assertions.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Assert success and return stdout.
pub fn ok(output: &Output) -> String {
    let (stdout, stderr) = text(output);
    assert!(
        output.status.success(),
        "command failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    stdout
}
