use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use opcp_cred_proto::messages::ProfileConfig;
use tempfile::TempDir;

use super::ConfigFile;
use crate::config::ConfigError;

fn profile(username: &str) -> ProfileConfig {
    ProfileConfig {
        project_id: Some("0123abcd".into()),
        ..ProfileConfig::new(
            "https://keystone.example.test",
            "keycloak",
            "https://keycloak.example.test/realms/pod/.well-known/openid-configuration",
            "openstack-cli",
            username,
        )
    }
}

/// A config path two directories below a fresh temp dir (neither exists yet).
fn fresh() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("config")
        .join("opcp-cred")
        .join("config.toml");
    (dir, path)
}

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The file as a user would write it by hand.
fn hand_written(username: &str) -> String {
    format!(
        "# hand written\n[profiles.pod]\nauth_url = \"https://keystone.example.test\"\nidentity_provider = \"keycloak\"\ndiscovery_endpoint = \"https://keycloak.example.test/realms/pod/.well-known/openid-configuration\"\nclient_id = \"openstack-cli\"\nusername = \"{username}\"\n"
    )
}

#[test]
fn is_shareable_between_tasks() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ConfigFile>();
    shareable::<ConfigError>();
}

#[test]
fn a_missing_file_is_an_empty_config() {
    let (_dir, path) = fresh();
    let file = ConfigFile::open(path.clone());
    assert_eq!(file.path(), path);
    assert!(file.current().profiles.is_empty());
    assert_eq!(file.last_error(), None);
    assert!(!file.remove_profile("pod").unwrap());
    assert!(!path.exists(), "removing from nothing writes nothing");
}

#[test]
fn a_broken_file_at_start_is_an_empty_config_with_its_error() {
    let (dir, _) = fresh();
    let path = dir.path().join("config.toml");
    fs::write(&path, "keyring = \"auto\"\nbogus = 1\n").unwrap();
    let file = ConfigFile::open(path.clone());
    assert!(file.current().profiles.is_empty());
    let error = file.last_error().expect("the error is kept");
    assert!(
        error.contains("line 2") && error.contains("bogus"),
        "{error}"
    );
    fs::write(&path, "keyring = \"auto\"\n").unwrap();
    file.current();
    assert_eq!(
        file.last_error(),
        None,
        "fixed on disk, fixed in the daemon"
    );
}

#[test]
fn a_fifo_or_a_device_is_refused_without_blocking() {
    let (dir, _) = fresh();
    let fifo = dir.path().join("fifo.toml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let file = ConfigFile::open(fifo);
    assert!(file.last_error().unwrap().contains("not a regular file"));
    let file = ConfigFile::open(PathBuf::from("/dev/zero"));
    assert!(file.last_error().unwrap().contains("not a regular file"));
}

#[test]
fn put_profile_creates_a_private_dir_and_file() {
    let (_dir, path) = fresh();
    let file = ConfigFile::open(path.clone());
    assert!(file.put_profile("pod", &profile("alice"), false).unwrap());
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&path), 0o600);
    let config = file.current();
    assert_eq!(config.default_profile.as_deref(), Some("pod"));
    assert_eq!(config.profiles["pod"], profile("alice"));
    let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file left behind");
}

#[test]
fn put_and_remove_keep_hand_written_comments() {
    let (dir, _) = fresh();
    let path = dir.path().join("config.toml");
    fs::write(&path, hand_written("bob")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let file = ConfigFile::open(path.clone());
    assert!(file.put_profile("pod", &profile("alice"), false).unwrap());
    assert!(!file.put_profile("lab", &profile("carol"), false).unwrap());
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("# hand written\n"), "{text}");
    assert_eq!(mode(&path), 0o600, "rewritten files are 0600");

    assert!(file.remove_profile("lab").unwrap());
    assert!(!file.remove_profile("lab").unwrap());
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("# hand written\n") && !text.contains("lab"),
        "{text}"
    );
    assert_eq!(file.current().profiles.len(), 1);
}

#[test]
fn hand_edits_are_picked_up() {
    let (_dir, path) = fresh();
    let file = ConfigFile::open(path.clone());
    file.put_profile("pod", &profile("alice"), false).unwrap();
    fs::write(&path, hand_written("bob-the-builder")).unwrap();
    assert_eq!(file.current().profiles["pod"].username, "bob-the-builder");
    fs::remove_file(&path).unwrap();
    assert!(
        file.current().profiles.is_empty(),
        "a deleted file is an empty config"
    );
}

#[test]
fn a_broken_edit_keeps_the_last_good_config() {
    let (_dir, path) = fresh();
    let file = ConfigFile::open(path.clone());
    file.put_profile("pod", &profile("alice"), false).unwrap();
    let good = fs::read_to_string(&path).unwrap();

    fs::write(&path, good.replace("username", "usernme")).unwrap();
    assert_eq!(file.current().profiles["pod"].username, "alice");
    let error = file.last_error().expect("the broken edit is recorded");
    assert!(error.contains("profiles.pod.usernme"), "{error}");
    assert!(error.contains(&path.display().to_string()), "{error}");

    fs::write(&path, good.replace("alice", "alice2")).unwrap();
    assert_eq!(file.current().profiles["pod"].username, "alice2");
    assert_eq!(file.last_error(), None, "a fixed file clears the error");
}

#[test]
fn a_write_that_would_not_load_is_refused() {
    let (dir, _) = fresh();
    let path = dir.path().join("config.toml");
    let broken = format!("{}region_name = \"\"\n", hand_written("bob"));
    fs::write(&path, &broken).unwrap();
    let file = ConfigFile {
        path: path.clone(),
        watch: None,
        state: std::sync::Mutex::new(super::State {
            config: std::sync::Arc::default(),
            seen: None,
            last_error: None,
            looked_at: None,
        }),
    };
    let err = file
        .put_profile("lab", &profile("carol"), false)
        .unwrap_err();
    assert!(
        err.to_string().contains("profiles.pod.region_name"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        broken,
        "the file is untouched"
    );
    // Removing the broken profile gives a file that loads, so that is allowed.
    assert!(file.remove_profile("pod").unwrap());
    assert!(file.current().profiles.is_empty());
}

#[test]
fn a_symlinked_file_stays_a_symlink() {
    let (dir, _) = fresh();
    let real = dir.path().join("dotfiles-config.toml");
    fs::write(&real, hand_written("bob")).unwrap();
    let link = dir.path().join("config.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let file = ConfigFile::open(link.clone());
    file.put_profile("pod", &profile("alice"), false).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(fs::read_to_string(&real).unwrap().contains("\"alice\""));
}

#[test]
fn edits_of_a_symlinked_file_are_seen_though_its_directory_is_elsewhere() {
    let (dir, _) = fresh();
    let elsewhere = tempfile::tempdir().unwrap();
    let real = elsewhere.path().join("dotfiles-config.toml");
    fs::write(&real, hand_written("bob")).unwrap();
    let link = dir.path().join("config.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let file = ConfigFile::open(link);
    assert_eq!(file.current().profiles["pod"].username, "bob");
    for user in ["carol", "dave"] {
        fs::write(&real, hand_written(user)).unwrap();
        assert_eq!(file.current().profiles["pod"].username, user);
    }
}
