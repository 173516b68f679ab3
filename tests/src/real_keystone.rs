//! The real OpenStack Identity service for a test: the `keystone` release from PyPI that
//! tests/keystone/setup.sh installed, served by gunicorn on a free loopback port with its own
//! copy of the template instance (sqlite database, fernet keys, OPCP federation objects).
//!
//! [`RealCloud::start`] starts the simulator with claims naming the template's project ids
//! (Keystone chose them), then a Keystone whose front door (`oidc_middleware.py`, in the
//! place of Apache's mod_auth_openidc) trusts the simulator's realms, then points the
//! identity providers' remote ids at the simulator's issuers and the catalog at Keystone's
//! own URL through the admin API (`admin.py federate`). Only the simulator's Keycloak side
//! is used: the Keystone side is the real one.
//!
//! A missing setup fails the test loudly, naming the command that makes it: never a skip.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use crate::env::{SimGuard, openrc_with};
use crate::sim::{SimConfig, fixture};

/// Loading Keystone takes seconds; on a busy two-core machine many more.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const LISTENING: &str = "Listening at: ";

/// How a test's Keystone is served.
#[derive(Clone, Debug)]
pub struct KeystoneOptions {
    /// "" for the root, or e.g. "/identity".
    pub prefix: String,
    /// `[token] expiration`.
    pub token_lifetime: Duration,
}

impl Default for KeystoneOptions {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// The simulator's Keycloak and a real Keystone federated to it.
#[derive(Debug)]
pub struct RealCloud {
    pub keystone: RealKeystone,
    pub sim: SimGuard,
}

impl RealCloud {
    pub fn start(options: &KeystoneOptions) -> Self {
        Self::start_with(SimConfig::default(), options)
    }

    /// `config`'s project ids are replaced by the template's (matched by project name).
    pub fn start_with(config: SimConfig, options: &KeystoneOptions) -> Self {
        let template = Template::get();
        let sim = SimGuard::start(template.adopt(config));
        let keystone = RealKeystone::start(template, &sim, options);
        Self { keystone, sim }
    }

    /// The id Keystone gave the project `name` of the fixture (`web`, `db`, `secret`).
    pub fn project_id(&self, name: &str) -> &'static str {
        Template::get().project_id(name)
    }

    /// The OPCP guide's openrc for the fixture user of `realm`, on project `web`.
    pub fn openrc(&self, realm: &str) -> String {
        openrc_with(
            &self.sim,
            &self.keystone.url,
            realm,
            self.project_id(fixture::PROJECT_WEB),
        )
    }
}

/// One Keystone process (gunicorn and its worker), killed with its process group on drop.
#[derive(Debug)]
pub struct RealKeystone {
    /// `http://127.0.0.1:PORT{prefix}`, without `/v3`.
    pub url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl RealKeystone {
    fn start(template: &Template, sim: &SimGuard, options: &KeystoneOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("opcp-cred-keystone-")
            .tempdir()
            .expect("temp dir for keystone");
        let issuers = [fixture::ADMIN_REALM, fixture::REALM].map(|realm| sim.issuer(realm));
        let child = Command::new(script("serve.sh"))
            .arg(dir.path())
            .arg(template.root.join("template"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("OPCP_CRED_TEST_KEYSTONE", &template.root)
            .env("OIDC_TRUSTED_ISSUERS", issuers.join(" "))
            .env("KEYSTONE_PATH_PREFIX", &options.prefix)
            .env(
                "KEYSTONE_TOKEN_EXPIRATION",
                options.token_lifetime.as_secs().to_string(),
            )
            .stdin(Stdio::null())
            .stdout(log_file(dir.path()))
            .stderr(Stdio::piped())
            // gunicorn forks a worker: both go with the group.
            .process_group(0)
            .spawn()
            .expect("start tests/keystone/serve.sh");
        // From here on a panic kills the process group (Drop).
        let mut keystone = Self {
            url: String::new(),
            child,
            dir,
        };
        let listening = follow_log(&mut keystone.child, keystone.dir.path());
        let root = listening
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("keystone did not start; its log:\n{}", keystone.log()));
        keystone.url = format!("{root}{}", options.prefix.trim_end_matches('/'));
        keystone.federate(template, &issuers);
        keystone
    }

    /// Remote ids and catalog through the admin API: they carry this test's ports.
    fn federate(&self, template: &Template, issuers: &[String; 2]) {
        let out = Command::new(template.root.join("venv/bin/python"))
            .arg(script("admin.py"))
            .args(["federate", &self.url])
            .arg(template.root.join("template"))
            .args(issuers)
            .output()
            .expect("run tests/keystone/admin.py");
        assert!(
            out.status.success(),
            "admin.py federate failed: {}\nkeystone's log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// What Keystone and gunicorn logged, for assertion messages.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }
}

impl Drop for RealKeystone {
    fn drop(&mut self) {
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.wait();
    }
}

/// A file of tests/keystone/.
fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("keystone")
        .join(name)
}

fn log_file(dir: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("keystone.log"))
        .expect("keystone log")
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("keystone.log")).unwrap_or_default()
}

/// Copies the child's stderr to the log; the receiver gets the URL once gunicorn listens
/// (after loading Keystone), or hangs up if it exits first.
fn follow_log(child: &mut Child, dir: &Path) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let mut log = log_file(dir);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if let Some((_, rest)) = line.split_once(LISTENING) {
                let url = rest.split_whitespace().next().unwrap_or_default();
                let _ = sender.send(url.to_owned());
            }
        }
    });
    receiver
}

/// The installed Keystone and its template instance, found once per test process.
#[derive(Debug)]
struct Template {
    /// `target/keystone`: `venv/` and `template/`.
    root: PathBuf,
    /// Project name to the id Keystone gave it.
    projects: HashMap<String, String>,
}

impl Template {
    fn get() -> &'static Self {
        static TEMPLATE: OnceLock<Template> = OnceLock::new();
        TEMPLATE.get_or_init(Self::locate)
    }

    fn locate() -> Self {
        let root = std::env::var_os("OPCP_CRED_TEST_KEYSTONE").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/keystone"),
            PathBuf::from,
        );
        let ids = root.join("template/ids.json");
        let text = std::fs::read_to_string(&ids).unwrap_or_else(|e| {
            panic!(
                "the keystone template is missing ({}: {e}): run tests/setup.sh \
                 (tests/run.sh does)",
                ids.display()
            )
        });
        let ids: serde_json::Value = serde_json::from_str(&text).expect("ids.json is JSON");
        let projects = ids["projects"]
            .as_object()
            .expect("ids.json lists projects")
            .iter()
            .map(|(name, id)| (name.clone(), id.as_str().expect("an id").to_owned()))
            .collect();
        Self { root, projects }
    }

    fn project_id(&self, name: &str) -> &str {
        self.projects
            .get(name)
            .unwrap_or_else(|| panic!("the keystone template has no project {name:?}"))
    }

    /// `config` with each project's id, and the users' claims naming it, replaced by the id
    /// Keystone gave the project of that name.
    fn adopt(&self, mut config: SimConfig) -> SimConfig {
        let mut renamed = HashMap::new();
        for project in &mut config.projects {
            let id = self.project_id(&project.name).to_owned();
            renamed.insert(std::mem::replace(&mut project.id, id.clone()), id);
        }
        for user in config.realms.iter_mut().flat_map(|realm| &mut realm.users) {
            for claimed in &mut user.projects {
                if let Some(id) = renamed.get(claimed) {
                    claimed.clone_from(id);
                }
            }
        }
        config
    }
}
