//! Golden JSON for every message, and tolerance of what a newer peer may add.

use std::time::{Duration, UNIX_EPOCH};

use super::*;

fn ts(secs: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(secs))
}

fn sample_config() -> ProfileConfig {
    ProfileConfig {
        project_id: Some("p1".into()),
        interface: Some("public".into()),
        ..ProfileConfig::new(
            "https://keystone.example.test",
            "keycloak",
            "https://keycloak.example.test/realms/pod/.well-known/openid-configuration",
            "openstack-cli",
            "alice",
        )
    }
}

fn round_trip<T>(value: &T, golden: &str)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    assert_eq!(serde_json::to_string(value).unwrap(), golden);
    assert_eq!(&serde_json::from_str::<T>(golden).unwrap(), value);
}

#[test]
fn golden_token_request() {
    round_trip(&TokenRequest::default(), "{}");
    round_trip(
        &TokenRequest {
            profile: Some("pod".into()),
            project: Some(ProjectSelector::Id { id: "p1".into() }),
            min_valid_secs: Some(2700),
            cached_only: true,
            refresh: false,
        },
        r#"{"profile":"pod","project":{"id":"p1"},"min_valid_secs":2700,"cached_only":true}"#,
    );
    round_trip(
        &TokenRequest {
            refresh: true,
            ..TokenRequest::default()
        },
        r#"{"refresh":true}"#,
    );
    round_trip(
        &TokenRequest {
            project: Some(ProjectSelector::Name {
                name: "web".into(),
                domain_name: "Default".into(),
            }),
            ..TokenRequest::default()
        },
        r#"{"project":{"name":"web","domain_name":"Default"}}"#,
    );
}

#[test]
fn golden_token_response() {
    round_trip(
        &TokenResponse {
            token: Secret::new("gAAAAfake"),
            expires_at: ts(1_800_000_000),
            profile: "pod".into(),
            project_id: "p1".into(),
            project_name: Some("web".into()),
            auth_url: "https://keystone.example.test/v3".into(),
            interface: Some("public".into()),
            region_name: None,
            cacert: None,
            config_error: None,
        },
        r#"{"token":"gAAAAfake","expires_at":"2027-01-15T08:00:00Z","profile":"pod","project_id":"p1","project_name":"web","auth_url":"https://keystone.example.test/v3","interface":"public","region_name":null,"cacert":null}"#,
    );
}

#[test]
fn golden_profile_config_is_minimal() {
    round_trip(
        &sample_config(),
        r#"{"auth_url":"https://keystone.example.test","identity_provider":"keycloak","protocol":"openid","discovery_endpoint":"https://keycloak.example.test/realms/pod/.well-known/openid-configuration","client_id":"openstack-cli","username":"alice","project_id":"p1","interface":"public"}"#,
    );
}

#[test]
fn profile_config_rejects_unknown_keys() {
    let err = serde_json::from_str::<ProfileConfig>(
        r#"{"auth_url":"a","identity_provider":"i","discovery_endpoint":"d","client_id":"c","username":"u","pasword":"x"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("pasword"), "{err}");
}

#[test]
fn golden_put_profile() {
    let put = PutProfile {
        config: ProfileConfig {
            project_id: None,
            interface: None,
            ..sample_config()
        },
        password: Secret::new("fake-pw"),
        client_secret: Secret::new("fake-cs"),
        make_default: true,
    };
    round_trip(
        &put,
        r#"{"config":{"auth_url":"https://keystone.example.test","identity_provider":"keycloak","protocol":"openid","discovery_endpoint":"https://keycloak.example.test/realms/pod/.well-known/openid-configuration","client_id":"openstack-cli","username":"alice"},"password":"fake-pw","client_secret":"fake-cs","make_default":true}"#,
    );
    assert!(!format!("{put:?}").contains("fake-pw"));
}

#[test]
fn golden_small_responses() {
    round_trip(
        &PutProfileResponse {
            profile: "pod".into(),
            keyring: "keyutils".into(),
            is_default: true,
        },
        r#"{"profile":"pod","keyring":"keyutils","is_default":true}"#,
    );
    round_trip(
        &DeleteProfileResponse {
            profile: "pod".into(),
            revoked: 2,
        },
        r#"{"profile":"pod","revoked":2}"#,
    );
    round_trip(
        &ProjectList {
            profile: "pod".into(),
            projects: vec![Project {
                id: "p1".into(),
                name: "web".into(),
                domain_id: Some("default".into()),
            }],
        },
        r#"{"profile":"pod","projects":[{"id":"p1","name":"web","domain_id":"default"}]}"#,
    );
    round_trip(
        &ProfileList {
            default_profile: Some("pod".into()),
            profiles: vec![ProfileEntry {
                name: "pod".into(),
                config: sample_config(),
            }],
        },
        &format!(
            r#"{{"default_profile":"pod","profiles":[{{"name":"pod","config":{}}}]}}"#,
            serde_json::to_string(&sample_config()).unwrap()
        ),
    );
}

#[test]
fn golden_status() {
    let status = Status {
        api_version: 1,
        daemon_version: "0.1.0".into(),
        pid: 42,
        started_at: ts(1_800_000_000),
        config_path: "/home/u/.config/opcp-cred/config.toml".into(),
        config_error: None,
        keyring: Some("keyutils".into()),
        default_profile: Some("pod".into()),
        profiles: vec![ProfileStatus {
            name: "pod".into(),
            tokens: vec![CachedToken {
                project_id: "p1".into(),
                project_name: None,
                expires_at: ts(1_800_003_600),
                fetched_at: ts(1_800_000_000),
            }],
            last_success: Some(ts(1_800_000_000)),
            last_error: None,
            needs_login: false,
            next_attempt: None,
        }],
    };
    round_trip(
        &status,
        r#"{"api_version":1,"daemon_version":"0.1.0","pid":42,"started_at":"2027-01-15T08:00:00Z","config_path":"/home/u/.config/opcp-cred/config.toml","config_error":null,"keyring":"keyutils","default_profile":"pod","profiles":[{"name":"pod","tokens":[{"project_id":"p1","project_name":null,"expires_at":"2027-01-15T09:00:00Z","fetched_at":"2027-01-15T08:00:00Z"}],"last_success":"2027-01-15T08:00:00Z","last_error":null,"needs_login":false,"next_attempt":null}]}"#,
    );
}

#[test]
fn responses_ignore_unknown_fields() {
    let json = r#"{"token":"t","expires_at":"2027-01-15T08:00:00Z","profile":"p","project_id":"x","auth_url":"u","new_field":[1,2]}"#;
    let resp: TokenResponse = serde_json::from_str(json).unwrap();
    assert_eq!(resp.project_id, "x");
    assert_eq!(resp.interface, None);
}

#[test]
fn keystone_style_timestamps_parse() {
    let t: Timestamp = "2027-01-15T08:00:00.000000Z".parse().unwrap();
    assert_eq!(t, ts(1_800_000_000));
}

#[test]
fn profile_names() {
    for ok in ["pod", "my-cloud_2", "a.b"] {
        assert!(valid_profile_name(ok), "{ok}");
    }
    for bad in ["", ".hidden", "-x", "a/b", "a b", "é", &"x".repeat(65)] {
        assert!(!valid_profile_name(bad), "{bad}");
    }
}

#[test]
fn project_selector_from_config() {
    let mut config = sample_config();
    assert_eq!(
        config.project(),
        Some(ProjectSelector::Id { id: "p1".into() })
    );
    config.project_id = None;
    config.project_name = Some("web".into());
    assert_eq!(
        config.project(),
        Some(ProjectSelector::Name {
            name: "web".into(),
            domain_name: "Default".into()
        })
    );
}
