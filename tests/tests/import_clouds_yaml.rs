//! `opcp-cred import --clouds-yaml [PATH] --cloud NAME`, one variant per directory of
//! `tests/fixtures/clouds/`: the secrets stored in the real keyring must be, byte for byte,
//! what openstacksdk (the openstack CLI's own library) reads for that cloud, secure.yaml
//! merged in; a cloud that is not `v3oidcpassword` is refused and nothing is stored.

mod import_support;

use std::path::{Path, PathBuf};

use import_support::{
    assert_refused, config, fill, fixture, import, openstacksdk_reads, sim_accepting, stored,
};
use opcp_cred_tests::daemon::DaemonGuard;
use opcp_cred_tests::env::{SimGuard, TestEnv, ok, text};
use opcp_cred_tests::keyring::KeyringKind;
use opcp_cred_tests::sim::Sim;

/// The files of fixture `variant` written into `dir`, with the simulator's URLs if any.
pub fn place(variant: &str, dir: &Path, sim: Option<&Sim>) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    ["clouds.yaml", "secure.yaml"]
        .into_iter()
        .filter(|name| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/clouds")
                .join(variant)
                .join(name)
                .is_file()
        })
        .map(|name| {
            let path = dir.join(name);
            let text = fixture(&format!("clouds/{variant}/{name}"));
            std::fs::write(&path, fill(&text, sim)).unwrap();
            path
        })
        .collect()
}

struct Imported {
    env: TestEnv,
    _sim: SimGuard,
    _daemon: DaemonGuard,
    profile: String,
    stderr: String,
}

/// Import cloud `cloud` of `variant`, placed in `dir` (relative to HOME); `clouds_arg` is
/// what follows `--clouds-yaml` (nothing: the search path).
fn imports_like_openstacksdk(variant: &str, dir: &str, cloud: &str, explicit: bool) -> Imported {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let dir = env.path(dir);
    let clouds = place(variant, &dir, None)[0].clone();
    let given = explicit.then_some(clouds.as_path());
    let secrets = |env: &TestEnv| {
        (
            openstacksdk_reads(env, cloud, "password", given),
            openstacksdk_reads(env, cloud, "client_secret", given),
        )
    };
    let (password, client_secret) = secrets(&env);
    let sim = sim_accepting(&password, &client_secret);
    place(variant, &dir, Some(&sim));
    let sdk = secrets(&env);
    assert_eq!(
        sdk,
        (password, client_secret),
        "the URLs changed what openstacksdk reads"
    );
    let daemon = DaemonGuard::start(&env);
    let profile = env.profile("cloud");
    let clouds_arg = clouds.to_str().unwrap();
    let mut args = vec!["--cloud", cloud, "--clouds-yaml"];
    if explicit {
        args.push(clouds_arg);
    }
    let out = import(&env, &profile, &args, "");
    assert_eq!(
        ok(&out),
        format!("eval $(opcp-cred env --profile {profile})\n")
    );
    let (password, client_secret) = sdk;
    assert_eq!(
        stored(&env, &profile),
        (Some(password), Some(client_secret)),
        "the keyring holds what openstacksdk reads"
    );
    Imported {
        stderr: text(&out).1,
        env,
        _sim: sim,
        _daemon: daemon,
        profile,
    }
}

#[test]
fn a_plain_clouds_yaml_on_the_search_path() {
    let run = imports_like_openstacksdk("plain", ".config/openstack", "pod", false);
    let config = config(&run.env);
    assert!(
        config.contains("project_id = \"11111111111111111111111111111111\""),
        "{config}"
    );
    assert!(config.contains("interface = \"public\""), "{config}");
    let token = run.env.run(["token", "--profile", &run.profile]);
    assert!(!ok(&token).trim().is_empty());
}

#[test]
fn secrets_in_secure_yaml_are_merged_as_openstacksdk_does() {
    let run = imports_like_openstacksdk("secure", ".config/openstack", "pod", false);
    let (password, _) = stored(&run.env, &run.profile);
    assert_eq!(
        password.as_deref(),
        Some("fake secure pw \"quoted\" \u{e9}\t(tab)")
    );
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("warning"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_project_by_name_and_domain_from_a_given_path() {
    let run = imports_like_openstacksdk("project-name", "elsewhere", "web-by-name", true);
    let config = config(&run.env);
    for line in [
        "project_name = \"web\"",
        "project_domain_name = \"Default\"",
        "region_name = \"RegionOne\"",
    ] {
        assert!(config.contains(line), "{line} missing from {config}");
    }
    assert!(!config.contains("project_id"), "{config}");
}

#[test]
fn a_cloud_that_is_not_v3oidcpassword_is_refused() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    // In the current directory: the first place openstacksdk looks.
    place("non-oidc", &env.home, None);
    let profile = env.profile("password");
    let before = config(&env);
    let out = import(&env, &profile, &["--cloud", "pod"], "");
    let says = format!(
        "{} (cloud `pod`): `auth_type` is `password`, but opcp-cred imports only `v3oidcpassword`",
        env.home.join("clouds.yaml").display()
    );
    assert_refused(&env, &profile, &out, &before, &[&says]);
    assert!(!text(&out).1.contains("fake-keystone-password"));
}

#[test]
fn a_cloud_that_is_not_there_is_named_with_those_that_are() {
    let env = TestEnv::new(KeyringKind::Keyutils);
    let _daemon = DaemonGuard::start(&env);
    let files = place("project-name", &env.path("x"), None);
    let profile = env.profile("missing");
    let before = config(&env);
    let out = import(
        &env,
        &profile,
        &[
            "--clouds-yaml",
            files[0].to_str().unwrap(),
            "--cloud",
            "pod",
        ],
        "",
    );
    assert_refused(
        &env,
        &profile,
        &out,
        &before,
        &[
            "cloud `pod` (--cloud) is not in",
            "(clouds there: by-id, web-by-name)",
            "--cloud NAME",
        ],
    );
}
