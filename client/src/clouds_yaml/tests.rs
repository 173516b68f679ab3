use std::ffi::OsString;
use std::path::Path;

use super::*;
use crate::error::Code;

const CLOUDS: &str = "\
# clouds of the test
clouds:
  pod:
    auth_type: v3oidcpassword
    auth:
      auth-url: https://keystone.example.test
      username: alice
      password: 'fake pw'   # in plain text
      # the client
      client_id: openstack-cli
      client_secret: fake-client-secret
      project_id: 0x1F
    region_name: RegionOne
  other:
    auth_type: password
    auth:
      password: fake-other
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn clouds(clouds: &str, secure: Option<&str>) -> (tempfile::TempDir, Clouds) {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "clouds.yaml", clouds);
    let secure = secure.map(|text| Loaded::read(&write(dir.path(), "secure.yaml", text)).unwrap());
    let loaded = Clouds {
        clouds: Loaded::read(&main).unwrap(),
        secure,
    };
    (dir, loaded)
}

fn text(clouds: &Clouds, cloud: &str, path: &[&str]) -> Option<(String, String)> {
    let found = clouds.get(cloud, path).unwrap()?;
    let at = found.at.rsplit('/').next().unwrap().to_owned();
    Some((found.text?.expose().to_owned(), at))
}

#[test]
fn the_search_path_is_openstacksdks() {
    let env = |name: &str| -> Option<OsString> {
        match name {
            "OS_CLIENT_CONFIG_FILE" => Some("/custom/clouds.yaml".into()),
            "XDG_CONFIG_HOME" => Some("/xdg".into()),
            _ => None,
        }
    };
    let paths = search_path("clouds", &env, Path::new("/work"), Path::new("/home/u"));
    let shown: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(shown[0], "/custom/clouds.yaml");
    assert_eq!(
        &shown[1..4],
        ["/work/clouds.yaml", "/work/clouds.yml", "/work/clouds.json"]
    );
    let yaml: Vec<_> = (paths.iter())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(
        yaml,
        [
            "/custom/clouds.yaml",
            "/work/clouds.yaml",
            "/xdg/openstack/clouds.yaml",
            "/home/u/.config/openstack/clouds.yaml",
            "/etc/xdg/openstack/clouds.yaml",
            "/etc/openstack/clouds.yaml",
        ]
    );
    let none = |_: &str| None;
    let secure = search_path("secure", &none, Path::new("/work"), Path::new("/home/u"));
    assert_eq!(secure[0], Path::new("/work/secure.yaml"));
    assert_eq!(
        secure[3],
        Path::new("/home/u/.config/openstack/secure.yaml")
    );
}

#[test]
fn values_know_their_line_and_keys_read_dashes_as_underscores() {
    let (_dir, clouds) = clouds(CLOUDS, None);
    assert_eq!(clouds.names(), ["other", "pod"]);
    let get = |path: &[&str]| text(&clouds, "pod", path);
    assert_eq!(
        get(&["auth", "password"]),
        Some(("fake pw".into(), "clouds.yaml:8".into()))
    );
    assert_eq!(
        get(&["auth", "auth_url"]).unwrap().0,
        "https://keystone.example.test"
    );
    assert_eq!(
        get(&["auth", "project_id"]).unwrap().0,
        "31",
        "an integer as Python prints it"
    );
    assert_eq!(get(&["region_name"]).unwrap().0, "RegionOne");
    assert_eq!(get(&["auth", "project_name"]), None);
    assert_eq!(
        text(&clouds, "other", &["auth", "password"]).unwrap().0,
        "fake-other"
    );
    let err = clouds.get("pod", &["auth"]).unwrap_err();
    assert!(
        err.message.contains("`auth` of cloud `pod` is a mapping"),
        "{}",
        err.message
    );
}

#[test]
fn the_secure_file_is_merged_over_the_clouds_file() {
    let secure = "clouds:\n  pod:\n    auth:\n      password: fake-secure-pw\n      client-secret: ~\n  only-secure:\n    auth_type: v3oidcpassword\n";
    let (_dir, clouds) = clouds(CLOUDS, Some(secure));
    let get = |path: &[&str]| text(&clouds, "pod", path);
    assert_eq!(
        get(&["auth", "password"]),
        Some(("fake-secure-pw".into(), "secure.yaml:4".into()))
    );
    assert_eq!(
        get(&["auth", "client_secret"]),
        None,
        "null in secure.yaml replaces"
    );
    assert_eq!(
        get(&["auth", "username"]).unwrap().0,
        "alice",
        "the rest of auth stays"
    );
    assert_eq!(clouds.names(), ["only-secure", "other", "pod"]);

    let (_dir, clouds) = self::clouds(CLOUDS, Some("clouds:\n  pod:\n    auth: fake\n"));
    assert_eq!(
        text(&clouds, "pod", &["auth", "username"]),
        None,
        "a scalar replaces a mapping"
    );
}

#[test]
fn merge_keys_and_broken_yaml_are_refused_with_their_line() {
    let merged = "base: &base\n  password: fake\nclouds:\n  pod:\n    auth:\n      <<: *base\n";
    let (_dir, clouds) = clouds(merged, None);
    let err = clouds.get("pod", &["auth", "password"]).unwrap_err();
    assert!(err.message.ends_with("clouds.yaml:6: a YAML merge key (`<<`), which import does not follow; nothing was imported"), "{}", err.message);

    let dir = tempfile::tempdir().unwrap();
    let broken = write(
        dir.path(),
        "clouds.yaml",
        "clouds:\n  pod:\n    auth: 'open\n",
    );
    let err = Loaded::read(&broken).unwrap_err();
    assert_eq!(err.code, Code::Config);
    assert!(
        err.message.contains("clouds.yaml:3: ") && err.message.ends_with("nothing was imported"),
        "{}",
        err.message
    );
    let list = write(dir.path(), "list.yaml", "- a\n- b\n");
    assert!(
        Loaded::read(&list)
            .unwrap_err()
            .message
            .contains("not a mapping")
    );
}

#[test]
fn strip_cuts_the_secret_lines_and_keeps_every_other_byte() {
    let (_dir, clouds) = clouds(CLOUDS, None);
    let out = clouds.clouds.strip("pod").unwrap().unwrap();
    let want = CLOUDS
        .replace("      password: 'fake pw'   # in plain text\n", "")
        .replace("      client_secret: fake-client-secret\n", "");
    assert_eq!(out, want);
    assert!(clouds.clouds.strip("nowhere").unwrap().is_none());
}

#[test]
fn strip_takes_mappings_left_empty_with_it() {
    let secure = "# secrets\nclouds:\n  pod:\n    auth:\n      password: fake-a\n      client_secret: |\n        fake-b\n  keep:\n    auth:\n      password: fake-c\n";
    let (_dir, clouds) = clouds(CLOUDS, Some(secure));
    let secure = clouds.secure.as_ref().unwrap();
    let out = secure.strip("pod").unwrap().unwrap();
    assert_eq!(
        out,
        "# secrets\nclouds:\n  keep:\n    auth:\n      password: fake-c\n"
    );
    let (_dir, clouds) = self::clouds(
        CLOUDS,
        Some("clouds:\n  pod:\n    auth:\n      password: fake\n"),
    );
    let out = clouds
        .secure
        .as_ref()
        .unwrap()
        .strip("pod")
        .unwrap()
        .unwrap();
    assert_eq!(
        out, "",
        "nothing left: no `clouds:` that would replace the clouds file's"
    );
}

#[test]
fn strip_refuses_what_it_cannot_cut_line_by_line() {
    let flow = "clouds:\n  pod: {auth_type: v3oidcpassword, auth: {password: fake, username: a}}\n";
    let (_dir, clouds) = clouds(flow, None);
    let err = clouds.clouds.strip("pod").unwrap_err();
    assert!(err.message.contains("flow style"), "{}", err.message);
    assert!(
        err.message.ends_with("nothing was stored"),
        "{}",
        err.message
    );
}

#[test]
fn cloud_names_are_kept_as_written_and_keys_inside_are_normalised() {
    let yaml = "clouds:\n  my-cloud:\n    auth_type: v3oidcpassword\n    auth:\n      password: fake-a\n      client-secret: fake-b\n      username: u\n  my_cloud:\n    auth_type: password\n";
    let (_dir, clouds) = clouds(yaml, None);
    assert_eq!(
        text(&clouds, "my-cloud", &["auth_type"]).unwrap().0,
        "v3oidcpassword"
    );
    assert_eq!(
        text(&clouds, "my_cloud", &["auth_type"]).unwrap().0,
        "password"
    );
    assert_eq!(
        text(&clouds, "my-cloud", &["auth", "client_secret"])
            .unwrap()
            .0,
        "fake-b"
    );
    let out = clouds.clouds.strip("my-cloud").unwrap().unwrap();
    assert_eq!(
        out,
        yaml.replace("      password: fake-a\n      client-secret: fake-b\n", "")
    );
}
