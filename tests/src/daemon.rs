//! Running `opcp-credd` for a test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::bins;
use crate::env::TestEnv;

/// A foreground daemon, killed on drop.
#[derive(Debug)]
pub struct DaemonGuard {
    pub child: Child,
}

impl DaemonGuard {
    /// Start `opcp-credd --foreground` and return once it serves (it prints `ready` after
    /// binding the socket: no polling).
    pub fn start(env: &TestEnv) -> Self {
        Self::start_with_env(env, &[])
    }

    /// [`Self::start`] with extra environment variables (a proxy, a bus that is not there).
    pub fn start_with_env(env: &TestEnv, vars: &[(&str, &str)]) -> Self {
        let mut cmd = env.command(bins::daemon());
        cmd.envs(vars.iter().copied());
        cmd.args(["--foreground", "--ready-stdout", "--log-level", "debug"])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(env.dir.path().join("daemon.log"))
                    .expect("daemon log"),
            ));
        Self::spawn_and_wait(cmd, env)
    }

    pub fn spawn_and_wait(mut cmd: std::process::Command, env: &TestEnv) -> Self {
        let mut child = cmd.spawn().expect("start opcp-credd");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read readiness");
        assert_eq!(
            line.trim(),
            "ready",
            "daemon did not start; log:\n{}",
            daemon_log(env)
        );
        Self { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, as systemd stops it; returns how it exited.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -TERM failed");
        self.child.wait().expect("wait for opcp-credd")
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the test's daemons logged, for assertion messages.
pub fn daemon_log(env: &TestEnv) -> String {
    std::fs::read_to_string(env.dir.path().join("daemon.log")).unwrap_or_default()
}
