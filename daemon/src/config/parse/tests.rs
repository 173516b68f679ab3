use std::path::Path;

use opcp_cred_proto::messages::ClientAuth;

use super::parse;
use crate::config::{ConfigError, KeyringChoice};

/// A valid profile; lines 3–10 of [`with`]'s output.
const POD: &str = r#"auth_url = "https://keystone.example.test"
identity_provider = "keycloak"
discovery_endpoint = "https://keycloak.example.test/realms/pod/.well-known/openid-configuration"
client_id = "openstack-cli"
username = "alice"
project_id = "0123abcd"
"#;

/// `default_profile` on line 1, `[profiles.pod]` on line 2, then POD and `extra`.
fn with(extra: &str) -> String {
    format!("default_profile = \"pod\"\n[profiles.pod]\n{POD}{extra}")
}

/// (line, key, problem) of a parse error.
fn error_of(text: &str) -> (usize, Option<String>, String) {
    match parse(text, Path::new("/cfg/config.toml")) {
        Err(ConfigError::Invalid {
            file,
            line,
            key,
            problem,
        }) => {
            assert_eq!(file, Path::new("/cfg/config.toml"));
            (line, key, problem)
        }
        other => panic!("expected an invalid-config error, got {other:?}"),
    }
}

#[test]
fn full_example_parses() {
    let text = format!(
        "# my clouds\nkeyring = \"keyutils\"\n{}client_auth = \"post\"\ninsecure = true\nproxy = \"http://127.0.0.1:3128\"\n",
        with("")
    );
    let config = parse(&text, Path::new("c.toml")).unwrap();
    assert_eq!(config.default_profile.as_deref(), Some("pod"));
    assert_eq!(config.keyring, KeyringChoice::Keyutils);
    let pod = &config.profiles["pod"];
    assert_eq!(pod.protocol, "openid", "protocol defaults to openid");
    assert_eq!(pod.client_auth, ClientAuth::Post);
    assert!(pod.insecure);
    assert_eq!(pod.project_id.as_deref(), Some("0123abcd"));
}

#[test]
fn empty_text_is_an_empty_config() {
    assert_eq!(
        parse("", Path::new("c.toml")).unwrap(),
        crate::config::Config::default()
    );
}

#[test]
fn syntax_error_names_the_line() {
    let (line, _, problem) = error_of("keyring = \"auto\"\n[profiles.pod\n");
    assert_eq!(line, 2);
    assert!(!problem.contains('\n'), "{problem}");
}

#[test]
fn unknown_top_level_key() {
    let (line, key, problem) = error_of("keyring = \"auto\"\ndefault_profil = \"pod\"\n");
    assert_eq!((line, key.as_deref()), (2, Some("default_profil")));
    assert!(
        problem.contains("unknown field `default_profil`"),
        "{problem}"
    );
}

#[test]
fn unknown_profile_key() {
    let (line, key, problem) = error_of(&with("regoin_name = \"GRA\"\n"));
    assert_eq!(
        (line, key.as_deref()),
        (9, Some("profiles.pod.regoin_name"))
    );
    assert!(problem.contains("unknown field `regoin_name`"), "{problem}");
}

#[test]
fn wrong_type() {
    let (line, key, problem) = error_of(&with("insecure = \"yes\"\n"));
    assert_eq!((line, key.as_deref()), (9, Some("profiles.pod.insecure")));
    assert!(problem.contains("expected a boolean"), "{problem}");
}

#[test]
fn bad_keyring_choice() {
    let (line, key, problem) = error_of("\nkeyring = \"kwallet\"\n");
    assert_eq!((line, key.as_deref()), (2, Some("keyring")));
    assert!(problem.contains("secret-service"), "{problem}");
}

#[test]
fn missing_required_field() {
    let text = "[profiles.pod]\nauth_url = \"https://keystone.example.test\"\n";
    let (line, key, problem) = error_of(text);
    assert_eq!(key.as_deref(), Some("profiles.pod"));
    assert!(line <= 2, "{line}");
    assert!(problem.contains("missing field"), "{problem}");
}

#[test]
fn bad_profile_name() {
    let text = format!("\n[profiles.\"bad name\"]\n{POD}");
    let (line, key, problem) = error_of(&text);
    assert_eq!((line, key.as_deref()), (2, Some("profiles.bad name")));
    assert!(
        problem.contains("profile name `bad name` is invalid"),
        "{problem}"
    );
}

#[test]
fn default_profile_must_exist() {
    let text = format!("\n\ndefault_profile = \"prod\"\n[profiles.pod]\n{POD}");
    let (line, key, problem) = error_of(&text);
    assert_eq!((line, key.as_deref()), (3, Some("default_profile")));
    assert!(
        problem.contains("profile `prod` is not defined"),
        "{problem}"
    );
}

#[test]
fn auth_url_is_checked_by_auth_url_parse() {
    let text = with("").replace(
        "https://keystone.example.test",
        "https://keystone.example.test/v2.0",
    );
    let (line, key, problem) = error_of(&text);
    assert_eq!((line, key.as_deref()), (3, Some("profiles.pod.auth_url")));
    assert!(problem.contains("Keystone v3 is required"), "{problem}");
}

#[test]
fn discovery_endpoint_must_be_a_url() {
    let text = with("").replace(
        "https://keycloak.example.test/realms/pod/.well-known/openid-configuration",
        "keycloak.example.test/realms/pod",
    );
    let (line, key, problem) = error_of(&text);
    assert_eq!(
        (line, key.as_deref()),
        (5, Some("profiles.pod.discovery_endpoint"))
    );
    assert!(problem.contains("is not a valid URL"), "{problem}");
}

#[test]
fn proxy_must_be_a_url() {
    let (line, key, problem) = error_of(&with("proxy = \"ftp://127.0.0.1\"\n"));
    assert_eq!((line, key.as_deref()), (9, Some("profiles.pod.proxy")));
    assert!(problem.contains("schemes http, https"), "{problem}");
    let (_, _, problem) = error_of(&with("proxy = \"socks5://127.0.0.1:1080\"\n"));
    assert!(problem.ends_with("schemes http, https"), "{problem}");
}

#[test]
fn a_bad_proxy_is_reported_without_its_credentials() {
    let (_, key, problem) = error_of(&with("proxy = \"http://u:fake-pw@[bad\"\n"));
    assert_eq!(key.as_deref(), Some("profiles.pod.proxy"));
    assert!(!problem.contains("fake-pw"), "{problem}");
    assert!(problem.contains("`http://***@[bad`"), "{problem}");
}

#[test]
fn refresh_at_must_be_a_sensible_percentage() {
    let (line, key, problem) = error_of(&with("refresh_at = 99\n"));
    assert_eq!((line, key.as_deref()), (9, Some("profiles.pod.refresh_at")));
    assert!(problem.contains("from 50 to 95"), "{problem}");
    let config = parse(&with("refresh_at = 60\n"), Path::new("c.toml")).unwrap();
    assert!((config.profiles["pod"].refresh_fraction() - 0.6).abs() < 1e-9);
}

#[test]
fn project_domain_without_project_name() {
    let (line, key, problem) = error_of(&with("project_domain_name = \"Default\"\n"));
    assert_eq!(
        (line, key.as_deref()),
        (9, Some("profiles.pod.project_domain_name"))
    );
    assert!(problem.contains("without project_name"), "{problem}");
}

#[test]
fn empty_strings_are_refused() {
    let (line, key, problem) = error_of(&with("").replace("\"alice\"", "\"  \""));
    assert_eq!((line, key.as_deref()), (7, Some("profiles.pod.username")));
    assert!(problem.contains("username is empty"), "{problem}");
    let (line, key, _) = error_of(&with("region_name = \"\"\n"));
    assert_eq!(
        (line, key.as_deref()),
        (9, Some("profiles.pod.region_name"))
    );
}

#[test]
fn dotted_and_inline_tables_are_located_too() {
    let text = "[profiles]\npod = { auth_url = \"https://k.example.test\", bogus = 1 }\n";
    let (line, key, _) = error_of(text);
    assert_eq!(line, 2);
    assert_eq!(key.as_deref(), Some("profiles.pod.bogus"));
}
