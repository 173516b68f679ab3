//! `opcp-cred hook`: an interactive bash or zsh with the hook in its rc file picks up the token
//! the daemon rotated in the background, at the next prompt, and the real `openstack` CLI
//! accepts it. fish is checked by emitting its prompt event (it fires no prompt without a tty).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{SimConfig, fixture};

/// Short enough that the daemon rotates the token within seconds (at 75 % of its life).
const LIFETIME: Duration = Duration::from_secs(8);
const WAIT: Duration = Duration::from_secs(30);

struct Fixture {
    _sim: SimGuard,
    env: TestEnv,
    profile: String,
    _daemon: DaemonGuard,
}

fn start() -> Fixture {
    let sim = SimGuard::start(SimConfig {
        keystone_token_lifetime: LIFETIME,
        access_token_lifetime: LIFETIME,
        refresh_token_lifetime: Duration::from_secs(600),
        ..SimConfig::default()
    });
    let env = TestEnv::new(KeyringKind::Keyutils);
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile("hook");
    let openrc = env.write_openrc(&sim, "openrc.sh");
    ok(&env.run(["import", "--profile", &profile, openrc.to_str().unwrap()]));
    Fixture {
        _sim: sim,
        env,
        profile,
        _daemon: daemon,
    }
}

impl Fixture {
    fn token(&self) -> String {
        ok(&self.env.run(["token", "--profile", &self.profile]))
            .trim()
            .to_owned()
    }

    /// The rc file: the hook, then the profile's token, as a user's ~/.bashrc would have.
    fn rc(&self, shell: &str) -> std::path::PathBuf {
        let hook = ok(&self.env.run(["hook", shell]));
        let client = bins::client();
        let rc = format!(
            "{hook}eval $('{}' env --profile {})\nPS1='$ '\n",
            client.display(),
            self.profile
        );
        let path = self.env.path(format!("{shell}rc"));
        std::fs::write(&path, rc).expect("write the rc file");
        path
    }

    /// Wait until the daemon serves a token other than `old`, polling as a script would.
    fn rotated_from(&self, old: &str) {
        let until = Instant::now() + WAIT;
        loop {
            if self.token() != old {
                return;
            }
            assert!(Instant::now() < until, "the daemon never rotated the token");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// An interactive shell reading commands from a pipe; its stdout lines arrive on a channel.
struct Interactive {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Interactive {
    fn start(f: &Fixture, program: &str, args: &[&str], env: &[(&str, &OsStr)]) -> Self {
        let mut child = f
            .env
            .command(program)
            .args(args)
            .envs(env.iter().copied())
            .env("OPCP_CRED_TEST_OPENSTACK", bins::openstack())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the shell");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the shell");
    }

    /// The value of the next stdout line that starts with `tag=`.
    fn value(&mut self, tag: &str) -> String {
        let prefix = format!("{tag}=");
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => {
                    if let Some(value) = line.strip_prefix(&prefix) {
                        return value.to_owned();
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let mut stderr = String::new();
                    if let Some(mut pipe) = self.child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                    }
                    panic!("no {tag}= line ({e}); the shell's stderr: {stderr}");
                }
            }
        }
    }

    fn finish(mut self) {
        self.send("exit");
        let status = self.child.wait().expect("wait for the shell");
        assert!(status.success(), "the shell exited with {status}");
    }
}

/// Start `shell` with its rc file, let the daemon rotate the token, and check the next command
/// sees the new one.
fn rotated_token_reaches_the_next_prompt(f: &Fixture, mut sh: Interactive) {
    sh.send(r#"printf 'first=%s\n' "$OS_TOKEN""#);
    let first = sh.value("first");
    assert_eq!(first, f.token(), "the rc file exported the served token");

    f.rotated_from(&first);
    // One command so that a prompt is drawn after the rotation, then the checks.
    sh.send(":");
    sh.send(r#"printf 'second=%s\n' "$OS_TOKEN""#);
    sh.send(r#"printf 'project=%s\n' "$("$OPCP_CRED_TEST_OPENSTACK" token issue -f value -c project_id)""#);
    // Not necessarily the token the poll above saw: a request and the background refresh may
    // each have brought one in the meantime. A new one, that openstack accepts.
    assert_ne!(sh.value("second"), first, "the hook exported a new token");
    assert_eq!(
        sh.value("project"),
        fixture::PROJECT_WEB_ID,
        "openstack authenticated with the exported token"
    );
    sh.finish();
}

#[test]
fn bash_with_the_hook_uses_the_rotated_token() {
    let f = start();
    let rc = f.rc("bash");
    let args = ["--noprofile", "--rcfile", rc.to_str().unwrap(), "-i"];
    let sh = Interactive::start(&f, "bash", &args, &[]);
    rotated_token_reaches_the_next_prompt(&f, sh);
}

#[test]
fn zsh_with_the_hook_uses_the_rotated_token() {
    // zsh has no --rcfile: it reads $ZDOTDIR/.zshrc.
    let f = start();
    let rc = f.rc("zsh");
    let zdotdir = f.env.path("zdot");
    std::fs::create_dir_all(&zdotdir).expect("mkdir ZDOTDIR");
    std::fs::copy(&rc, zdotdir.join(".zshrc")).expect("write .zshrc");
    let sh = Interactive::start(&f, "zsh", &["-i"], &[("ZDOTDIR", zdotdir.as_os_str())]);
    rotated_token_reaches_the_next_prompt(&f, sh);
}

#[test]
fn fish_hook_exports_the_rotated_token_at_its_prompt_event() {
    let f = start();
    let hook = ok(&f.env.run(["hook", "fish"]));
    let first = f.token();
    let script = format!(
        "{hook}\n'{client}' env --shell fish --profile {profile} | source\n\
         printf 'first=%s\\n' $OS_TOKEN\n",
        client = bins::client().display(),
        profile = f.profile,
    );
    let out = ok(&f
        .env
        .command("fish")
        .args(["--no-config", "-c", &script])
        .output()
        .expect("run fish"));
    assert_eq!(out.trim(), format!("first={first}"));

    f.rotated_from(&first);
    // The shell still holds the old token; its prompt event must replace it.
    let script = format!(
        "{hook}\nset -gx OPCP_CRED_PROFILE {profile}\nset -gx OS_TOKEN {first}\n\
         emit fish_prompt\nprintf 'second=%s\\n' $OS_TOKEN\n",
        profile = f.profile,
    );
    let out = ok(&f
        .env
        .command("fish")
        .args(["--no-config", "-c", &script])
        .output()
        .expect("run fish"));
    // A new token (maybe newer than the poll's, as in the bash and zsh tests).
    let second = out.trim().strip_prefix("second=").expect("printed");
    assert!(!second.is_empty() && second != first, "{out}");
}

#[test]
fn the_hook_prints_nothing_while_the_token_is_current() {
    let f = start();
    let token = f.token();
    let out = f
        .env
        .client(["env", "--if-changed", "--profile", &f.profile])
        .env("OS_TOKEN", &token)
        .output()
        .expect("run env");
    assert_eq!(ok(&out), "", "an unchanged token prints nothing");
    let out = f
        .env
        .client(["env", "--if-changed", "--profile", &f.profile])
        .env("OS_TOKEN", "an-older-token")
        .output()
        .expect("run env");
    assert!(ok(&out).contains(&format!("OS_TOKEN='{token}'")));
}

#[test]
fn a_prompt_never_waits_for_a_token_that_is_not_cached() {
    let f = start();
    let ask = || {
        f.env
            .client([
                "env",
                "--if-changed",
                "--profile",
                &f.profile,
                "--project-id",
                fixture::PROJECT_DB_ID,
            ])
            .env("OS_TOKEN", "a-token-of-another-project")
            .output()
            .expect("run env")
    };
    // Nothing cached for this project: the answer comes at once, empty, and starts the fetch.
    let first = ask();
    assert!(!first.status.success());
    assert!(first.stdout.is_empty());
    let until = Instant::now() + WAIT;
    let exports = loop {
        let out = ask();
        if out.status.success() {
            break ok(&out);
        }
        assert!(Instant::now() < until, "the background fetch never landed");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        exports.contains(&format!("OS_PROJECT_ID='{}'", fixture::PROJECT_DB_ID)),
        "{exports}"
    );
}

#[test]
fn a_prompt_stays_quiet_when_the_daemon_is_gone() {
    let f = start();
    let token = f.token();
    let hook = ok(&f.env.run(["hook", "bash"]));
    let rc = f.env.path("quiet-bashrc");
    std::fs::write(&rc, format!("{hook}PS1='$ '\n")).expect("write the rc file");
    let Fixture {
        env,
        profile,
        _daemon: daemon,
        ..
    } = f;
    daemon.terminate();
    let out = env
        .command("bash")
        .args(["--noprofile", "--rcfile", rc.to_str().unwrap(), "-i"])
        .env("OPCP_CRED_NO_AUTOSTART", "1")
        .env("OPCP_CRED_PROFILE", &profile)
        .env("OS_TOKEN", &token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut sh| {
            sh.stdin
                .take()
                .expect("piped")
                .write_all(b":\nprintf 'kept=%s\\n' \"$OS_TOKEN\"\nexit\n")?;
            sh.wait_with_output()
        })
        .expect("run bash");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains(&format!("kept={token}")), "{stdout}");
    assert!(
        !stderr.contains("opcp-cred"),
        "the prompt printed: {stderr}"
    );
}
