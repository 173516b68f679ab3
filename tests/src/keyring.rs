//! A private keyring for one test.
//!
//! - Secret Service: a D-Bus session daemon of the test's own, and gnome-keyring unlocked
//!   with a throw-away password, its files under the test's HOME.
//! - keyutils: the kernel store. Keys live in the per-uid persistent keyring (so a restarted
//!   daemon finds them), which every process of the uid shares: tests isolate by giving their
//!   profiles unique names ([`crate::env::TestEnv::profile`]); `logout` removes them.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The keyring service name the daemon uses.
pub const SERVICE: &str = "opcp-cred";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringKind {
    SecretService,
    Keyutils,
}

impl KeyringKind {
    /// The value of `keyring =` in config.toml.
    pub fn config_value(self) -> &'static str {
        match self {
            Self::SecretService => "secret-service",
            Self::Keyutils => "keyutils",
        }
    }
}

#[derive(Debug)]
pub struct TestKeyring {
    pub kind: KeyringKind,
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus (Secret Service only).
    pub bus_address: Option<String>,
    bus: Option<Child>,
    /// Extra environment for every process of the test.
    env: Vec<(String, String)>,
}

impl TestKeyring {
    /// Start the keyring; `home` holds gnome-keyring's files.
    pub fn start(kind: KeyringKind, home: &Path, runtime_dir: &Path) -> Self {
        match kind {
            KeyringKind::Keyutils => Self {
                kind,
                bus_address: None,
                bus: None,
                env: Vec::new(),
            },
            KeyringKind::SecretService => Self::start_secret_service(home, runtime_dir),
        }
    }

    fn start_secret_service(home: &Path, runtime_dir: &Path) -> Self {
        let socket = runtime_dir.join("test-bus");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon must be installed (tests/setup.sh)");
        // The address is printed once the bus listens: the readiness event.
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("piped"))
            .read_line(&mut address)
            .expect("reading the bus address");
        let address = address.trim().to_owned();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        let env = vec![("DBUS_SESSION_BUS_ADDRESS".to_owned(), address.clone())];
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", runtime_dir)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon must be installed (tests/setup.sh)");
        keyring
            .stdin
            .take()
            .expect("piped")
            .write_all(b"fake-keyring-password")
            .expect("unlock password");
        // It daemonises: the parent exits once the unlocked daemon is on the bus.
        let status = keyring.wait().expect("gnome-keyring-daemon");
        assert!(
            status.success(),
            "gnome-keyring-daemon --unlock failed: {status}"
        );
        Self {
            kind: KeyringKind::SecretService,
            bus_address: Some(address),
            bus: Some(bus),
            env,
        }
    }

    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Locks the Secret Service's default collection, as a screen lock or `secret-tool lock`
    /// would. gnome-keyring locks without a prompt.
    pub fn lock(&self) {
        let bus = self
            .bus_address
            .as_deref()
            .expect("only a secret service keyring can be locked");
        let status = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/aliases/default",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .stdout(Stdio::null())
            .status()
            .expect("dbus-send must be installed (tests/setup.sh)");
        assert!(status.success(), "locking the collection failed: {status}");
    }

    /// Read an entry back through the store's own tool: `secret-tool` or `keyctl`.
    pub fn read(&self, account: &str) -> Option<String> {
        let output = match self.kind {
            KeyringKind::SecretService => Command::new("secret-tool")
                .args(["lookup", "service", SERVICE, "username", account])
                .env(
                    "DBUS_SESSION_BUS_ADDRESS",
                    self.bus_address
                        .as_deref()
                        .expect("secret service has a bus"),
                )
                .output()
                .expect("secret-tool must be installed"),
            // The keys are possessed through the per-uid persistent keyring: a fresh session
            // that links it in can read them, as a restarted daemon does.
            KeyringKind::Keyutils => Command::new("keyctl")
                .args(["session", "-", "sh", "-c"])
                .arg(format!(
                    "keyctl get_persistent @s >/dev/null && keyctl pipe '%user:keyring:{account}@{SERVICE}'"
                ))
                .output()
                .expect("keyctl must be installed"),
        };
        output
            .status
            .success()
            .then(|| String::from_utf8(output.stdout).expect("utf-8 secret"))
            .filter(|s| !s.is_empty())
    }
}

impl Drop for TestKeyring {
    fn drop(&mut self) {
        // gnome-keyring-daemon exits when its bus goes away.
        if let Some(bus) = &mut self.bus {
            let _ = bus.kill();
            let _ = bus.wait();
        }
    }
}
