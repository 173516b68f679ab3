//! The whole path: an OPCP openrc imported, secrets in the keyring and nowhere on disk, then
//! the real `openstack` CLI authenticated by `opcp-cred env` and by `opcp-cred exec`.

use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{SimConfig, fixture};

fn import(env: &TestEnv, sim: &SimGuard, profile: &str) {
    let openrc = env.write_openrc(sim, "openrc.sh");
    let out = env.run(["import", "--profile", profile, openrc.to_str().unwrap()]);
    let stdout = ok(&out);
    assert!(
        stdout.contains(&format!("opcp-cred env --profile {profile}")),
        "{stdout}"
    );
    std::fs::remove_file(openrc).unwrap();
}

/// Every file under `dir`, read byte by byte, must not contain `needle`.
fn assert_nowhere_under(dir: &std::path::Path, needle: &str) {
    for entry in walk(dir) {
        let Ok(bytes) = std::fs::read(&entry) else {
            continue;
        };
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "secret found in {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            files.extend(walk(&path));
        } else if meta.is_file() {
            files.push(path);
        }
    }
    files
}

fn import_then_openstack(kind: KeyringKind) {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(kind);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("pod");
    import(&env, &sim, &profile);

    assert_eq!(
        env.keyring.read(&format!("{profile}/password")).as_deref(),
        Some(fixture::PASSWORD)
    );
    assert_eq!(
        env.keyring
            .read(&format!("{profile}/client-secret"))
            .as_deref(),
        Some(fixture::CLIENT_SECRET)
    );
    // gnome-keyring encrypts its files under HOME; keyutils keeps nothing on disk.
    assert_nowhere_under(&env.home, fixture::PASSWORD);
    assert_nowhere_under(&env.home, fixture::CLIENT_SECRET);
    assert_nowhere_under(&env.runtime_dir, fixture::PASSWORD);
    assert_nowhere_under(&env.runtime_dir, fixture::CLIENT_SECRET);

    let openstack = bins::openstack();
    let script = format!(
        "set -e; eval \"$('{client}' env --profile {profile})\"; \
         env | grep -q '^OS_PASSWORD=' && exit 90; \
         env | grep -q '^OS_CLIENT_SECRET=' && exit 91; \
         '{os}' token issue -f value -c project_id",
        client = bins::client().display(),
        os = openstack.display()
    );
    let out = env.command("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(ok(&out).trim(), fixture::PROJECT_WEB_ID);

    let out = env
        .client(["exec", "--profile", &profile, "--"])
        .arg(&openstack)
        .args(["token", "issue", "-f", "value", "-c", "project_id"])
        .output()
        .unwrap();
    assert_eq!(ok(&out).trim(), fixture::PROJECT_WEB_ID);

    let out = env.run(["logout", "--profile", &profile]);
    ok(&out);
    assert_eq!(
        env.keyring.read(&format!("{profile}/password")),
        None,
        "logout deletes the secrets"
    );
    let (_, stderr) = text(&out);
    assert!(!stderr.contains(fixture::PASSWORD));
}

#[test]
fn import_then_openstack_with_secret_service() {
    import_then_openstack(KeyringKind::SecretService);
}

#[test]
fn import_then_openstack_with_keyutils() {
    import_then_openstack(KeyringKind::Keyutils);
}
