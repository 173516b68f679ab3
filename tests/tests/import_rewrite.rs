//! `opcp-cred import --rewrite [--backup]`: once the profile is stored, the file holds no
//! secret, sourcing it gives a working environment (a token from the daemon), and a backup
//! exists (mode 0600) only when asked for.

mod import_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use import_support::{config, files_under, fill, fixture, import, openstacksdk_reads, stored};
use opcp_cred_tests::bins;
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, openrc_text, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::{SimConfig, fixture as sim_fixture};

fn holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// An OPCP openrc at HOME/openrc.sh, mode 0640, imported with `flags`.
fn rewrite_openrc(env: &TestEnv, sim: &SimGuard, profile: &str, flags: &[&str]) -> String {
    let openrc = env.write_openrc(sim, "openrc.sh");
    std::fs::set_permissions(&openrc, std::fs::Permissions::from_mode(0o640)).unwrap();
    let original = std::fs::read_to_string(&openrc).unwrap();
    let mut args = flags.to_vec();
    args.push(openrc.to_str().unwrap());
    let stdout = ok(&import(env, profile, &args, ""));
    assert_eq!(
        stdout,
        format!("eval $(opcp-cred env --profile {profile})\n")
    );
    assert!(!holds(&openrc, sim_fixture::PASSWORD) && !holds(&openrc, sim_fixture::CLIENT_SECRET));
    assert_eq!(mode(&openrc), 0o640, "the file keeps its mode");
    original
}

/// `PATH` with the built `opcp-cred` first, as an installed one would be found.
fn client_path() -> String {
    let bin_dir = bins::client().parent().unwrap().to_owned();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Source the rewritten file in bash, as a person would, and use the token it exports.
fn sourcing_gives_a_working_env(env: &TestEnv, file: &Path) {
    let path = client_path();
    let script = format!(
        "set -e; source '{file}'; test -n \"$OS_TOKEN\"; test -z \"${{OS_PASSWORD-}}\"; \
         '{os}' token issue -f value -c project_id",
        file = file.display(),
        os = bins::openstack().display()
    );
    let out = env
        .command("bash")
        .env("PATH", path)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(ok(&out).trim(), sim_fixture::PROJECT_WEB_ID);
}

#[test]
fn an_openrc_rewritten_without_a_backup() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("rewrite");
    let before = files_under(&env.home);
    rewrite_openrc(&env, &sim, &profile, &["--rewrite"]);
    let openrc = env.path("openrc.sh");
    assert_eq!(
        std::fs::read_to_string(&openrc).unwrap(),
        format!(
            "# The OpenStack secrets of this file are in the keyring: opcp-cred profile {profile}.\n\
             # Sourcing it fails, changing nothing, when opcp-cred cannot give a token.\n\
             opcp_cred_exports=$(opcp-cred env --profile {profile}) && eval \"$opcp_cred_exports\" \\\n\
             \x20   && unset opcp_cred_exports\n"
        )
    );
    let mut after = files_under(&env.home);
    after.retain(|f| {
        !before.contains(f) && f != &openrc && !f.starts_with(env.home.join(".config"))
    });
    assert!(after.is_empty(), "no backup without --backup: {after:?}");
    assert_eq!(
        stored(&env, &profile).0.as_deref(),
        Some(sim_fixture::PASSWORD)
    );
    sourcing_gives_a_working_env(&env, &openrc);

    // Imported again by mistake: said so, nothing changed.
    let again = import(&env, &profile, &[openrc.to_str().unwrap()], "");
    let (_, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "was already moved to opcp-cred: it runs `opcp-cred env --profile {profile}`"
        )),
        "{stderr}"
    );

    // No token (the profile is gone): sourcing fails and leaves the shell as it was.
    ok(&env.run(["logout", "--profile", &profile]));
    let script = format!(
        "OS_TOKEN=stale; source '{}' 2>/dev/null || echo refused; echo \"$OS_TOKEN\"",
        openrc.display()
    );
    let out = env
        .command("bash")
        .env("PATH", client_path())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "refused\nstale\n");
}

#[test]
fn an_openrc_rewritten_with_a_backup() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::SecretService);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("backup");
    let original = rewrite_openrc(&env, &sim, &profile, &["--rewrite", "--backup"]);
    let backup = env.path("openrc.sh.bak");
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    sourcing_gives_a_working_env(&env, &env.path("openrc.sh"));
}

#[test]
fn a_backup_in_the_way_stops_the_import_before_anything_is_stored() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let openrc = env.write_openrc(&sim, "openrc.sh");
    std::fs::write(env.path("openrc.sh.bak"), "an older backup\n").unwrap();
    let profile = env.profile("in-the-way");
    let before = config(&env);
    let out = import(
        &env,
        &profile,
        &["--rewrite", "--backup", openrc.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(config(&env), before);
    assert_eq!(stored(&env, &profile), (None, None));
    assert_eq!(std::fs::read_to_string(&openrc).unwrap(), openrc_text(&sim));
    assert_eq!(
        std::fs::read_to_string(env.path("openrc.sh.bak")).unwrap(),
        "an older backup\n"
    );
}

/// clouds.yaml keeps its other clouds and comments; the cloud loses only its secrets, in
/// secure.yaml as in clouds.yaml, and openstacksdk still reads both files.
#[test]
fn clouds_yaml_and_secure_yaml_lose_the_clouds_secrets_only() {
    let password = "fake secure pw \"quoted\" \u{e9}\t(tab)";
    let sim = import_support::sim_accepting(password, "fake-secure-client-secret");
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let dir = env.path(".config/openstack");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["clouds.yaml", "secure.yaml"] {
        let text = fill(&fixture(&format!("clouds/secure/{name}")), Some(&sim));
        std::fs::write(dir.join(name), text).unwrap();
    }
    let clouds_before = std::fs::read_to_string(dir.join("clouds.yaml")).unwrap();
    let profile = env.profile("clouds");
    ok(&import(
        &env,
        &profile,
        &["--cloud", "pod", "--rewrite", "--backup"],
        "",
    ));
    assert_eq!(stored(&env, &profile).0.as_deref(), Some(password));

    let clouds = std::fs::read_to_string(dir.join("clouds.yaml")).unwrap();
    assert_eq!(
        clouds,
        clouds_before.replace("      password: fake-overridden-by-secure-yaml\n", ""),
        "only the cloud's password line goes"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("secure.yaml")).unwrap(),
        "",
        "nothing else was in it"
    );
    for name in ["clouds.yaml.bak", "secure.yaml.bak"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    assert_eq!(openstacksdk_reads(&env, "pod", "password", None), "");
    assert_eq!(openstacksdk_reads(&env, "pod", "username", None), "alice");
    assert_eq!(
        openstacksdk_reads(&env, "other", "password", None),
        "fake-other-password"
    );
    let token = ok(&env.run(["token", "--profile", &profile]));
    assert!(!token.trim().is_empty());
}

#[test]
fn rewrite_needs_a_file_and_stores_nothing_without_one() {
    let sim = SimGuard::start(SimConfig::default());
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let profile = env.profile("stdin");
    let before = config(&env);
    let out = import(&env, &profile, &["--rewrite", "-"], &openrc_text(&sim));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        (config(&env), stored(&env, &profile)),
        (before, (None, None))
    );
}
