//! What the import tests share: the fixture files under `tests/fixtures/`, a simulator that
//! accepts whatever secrets a fixture holds, the secrets as the real tools read them (bash
//! for openrc files, openstacksdk for clouds.yaml), and checks that nothing was stored.

#![allow(dead_code, reason = "each test binary uses its own part")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use opcp_cred_proto::Secret;
use opcp_cred_tests::bins;
use opcp_cred_tests::env::{SimGuard, TestEnv, text};
use opcp_cred_tests::sim::{Sim, SimConfig, fixture};

/// The text of `tests/fixtures/REL`.
pub fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture with the simulator's URLs in it; without a simulator, URLs that go nowhere
/// (enough for bash to read the secrets before the simulator is made to accept them).
pub fn fill(template: &str, sim: Option<&Sim>) -> String {
    let (keystone, discovery) = sim.map_or_else(
        || {
            let nowhere = "http://nowhere.example.test";
            (nowhere.to_owned(), format!("{nowhere}/realms/pod"))
        },
        |sim| (sim.keystone_url(), sim.discovery_url(fixture::REALM)),
    );
    template
        .replace("@KEYSTONE_URL@", &keystone)
        .replace("@DISCOVERY_URL@", &discovery)
}

/// A simulator whose fixture users have `password` and whose clients have `client_secret`.
pub fn sim_accepting(password: &str, client_secret: &str) -> SimGuard {
    let mut config = SimConfig::default();
    for realm in &mut config.realms {
        for user in &mut realm.users {
            user.password = Secret::new(password);
        }
        for client in &mut realm.clients {
            client.secret = Secret::new(client_secret);
        }
    }
    SimGuard::start(config)
}

/// What bash leaves in `var` after `source FILE`, with `stdin` for its `read`s.
pub fn bash_reads(env: &TestEnv, file: &Path, var: &str, stdin: &str) -> String {
    let script = format!(
        "source '{}' >/dev/null; printf %s \"${var}\"",
        file.display()
    );
    let out = run_with_stdin(env.command("bash").args(["-c", &script]), stdin);
    assert!(out.status.success(), "bash: {}", text(&out).1);
    String::from_utf8(out.stdout).expect("utf-8 from bash")
}

/// The password and client secret bash reads from `file`.
pub fn bash_secrets(env: &TestEnv, file: &Path, stdin: &str) -> (String, String) {
    (
        bash_reads(env, file, "OS_PASSWORD", stdin),
        bash_reads(env, file, "OS_CLIENT_SECRET", stdin),
    )
}

/// `auth.KEY` of `cloud` as openstacksdk reads it in the test's HOME and current directory
/// (clouds.yaml and secure.yaml merged), through the Python of the openstack CLI's venv.
pub fn openstacksdk_reads(
    env: &TestEnv,
    cloud: &str,
    key: &str,
    clouds_file: Option<&Path>,
) -> String {
    let python = bins::openstack().with_file_name("python");
    let script = format!(
        "import sys, openstack.config\n\
         c = openstack.config.OpenStackConfig()\n\
         sys.stdout.write(c.get_one(cloud='{cloud}', validate=False).auth.get('{key}') or '')\n"
    );
    let mut cmd = env.command(python);
    cmd.args(["-c", &script]).env("PYTHONIOENCODING", "utf-8");
    if let Some(file) = clouds_file {
        cmd.env("OS_CLIENT_CONFIG_FILE", file);
    }
    let out = cmd.output().expect("run python");
    assert!(out.status.success(), "openstacksdk: {}", text(&out).1);
    String::from_utf8(out.stdout).expect("utf-8 from python")
}

pub fn run_with_stdin(cmd: &mut std::process::Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let written = child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes());
    // A command that reads no stdin may be gone before it is written to.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait")
}

/// `opcp-cred import --profile PROFILE ARGS…` with `stdin` on standard input.
pub fn import(env: &TestEnv, profile: &str, args: &[&str], stdin: &str) -> Output {
    let mut cmd = env.client(["import", "--profile", profile]);
    cmd.args(args);
    run_with_stdin(&mut cmd, stdin)
}

/// The profile's password and client secret, read back from the real keyring.
pub fn stored(env: &TestEnv, profile: &str) -> (Option<String>, Option<String>) {
    (
        env.keyring.read(&format!("{profile}/password")),
        env.keyring.read(&format!("{profile}/client-secret")),
    )
}

/// A failed import: exit code 7 (bad input), stderr says `phrases`, stdout is empty, and
/// nothing was stored: the config file is as `config_before`, the keyring has no entry.
pub fn assert_refused(
    env: &TestEnv,
    profile: &str,
    out: &Output,
    config_before: &str,
    phrases: &[&str],
) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stdout.is_empty(), "stdout: {stdout}");
    for phrase in phrases {
        assert!(
            stderr.contains(phrase),
            "`{phrase}` missing from:\n{stderr}"
        );
    }
    assert_eq!(config(env), config_before, "the config changed");
    assert_eq!(stored(env, profile), (None, None), "secrets were stored");
}

pub fn config(env: &TestEnv) -> String {
    std::fs::read_to_string(env.config_path()).unwrap_or_default()
}

/// Every regular file under `dir`, for "no secret left anywhere" checks.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => files.extend(files_under(&path)),
            Ok(meta) if meta.is_file() => files.push(path),
            _ => {}
        }
    }
    files
}
