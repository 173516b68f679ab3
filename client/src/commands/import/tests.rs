use super::*;
use crate::error::Code;

const OPCP_OPENRC: &str = r#"#!/bin/bash
export OS_AUTH_TYPE=v3oidcpassword
export OS_AUTH_URL=https://keystone.region.example.test
export OS_IDENTITY_PROVIDER=keycloak
export OS_PROTOCOL=openid
export OS_DISCOVERY_ENDPOINT="https://keycloak.region.example.test/realms/pod/.well-known/openid-configuration"
export OS_CLIENT_ID=openstack-cli
export OS_CLIENT_SECRET='fake-client-secret'
export OS_USERNAME="alice"
export OS_PASSWORD='fake-p@ss'\''word'
export OS_PROJECT_ID=0123abcd
export OS_INTERFACE=public
export OS_REGION_NAME=""
export OS_IDENTITY_API_VERSION=3
"#;

fn config(text: &str) -> Result<ProfileConfig, CliError> {
    let parsed = openrc::parse(text).unwrap();
    config_from(&Vars {
        parsed: &parsed,
        source: "openrc.sh",
    })
}

#[test]
fn an_opcp_openrc_becomes_a_profile() {
    let config = config(OPCP_OPENRC).unwrap();
    assert_eq!(config.auth_url, "https://keystone.region.example.test");
    assert_eq!(config.identity_provider, "keycloak");
    assert_eq!(config.protocol, "openid");
    assert_eq!(
        config.discovery_endpoint,
        "https://keycloak.region.example.test/realms/pod/.well-known/openid-configuration"
    );
    assert_eq!(config.client_id, "openstack-cli");
    assert_eq!(config.username, "alice");
    assert_eq!(config.project_id.as_deref(), Some("0123abcd"));
    assert_eq!(config.interface.as_deref(), Some("public"));
    assert_eq!(config.region_name, None, "empty means unset");
    assert_eq!(config.cacert, None);
}

#[test]
fn secrets_come_out_literal() {
    let parsed = openrc::parse(OPCP_OPENRC).unwrap();
    let vars = Vars {
        parsed: &parsed,
        source: "openrc.sh",
    };
    assert_eq!(
        secret(&vars, "OS_PASSWORD", "p").unwrap().expose(),
        "fake-p@ss'word"
    );
    assert_eq!(
        secret(&vars, "OS_CLIENT_SECRET", "c").unwrap().expose(),
        "fake-client-secret"
    );
}

#[test]
fn other_auth_types_are_refused_clearly() {
    let err = config(&OPCP_OPENRC.replace("v3oidcpassword", "password")).unwrap_err();
    assert_eq!(err.code, Code::Config);
    assert!(
        err.message
            .contains("OS_AUTH_TYPE is `password`, but opcp-cred imports only `v3oidcpassword`"),
        "{}",
        err.message
    );
    let err = config("export OS_AUTH_TYPE=token\nexport OS_TOKEN=fake\n").unwrap_err();
    assert!(err.message.contains("a token's exports"), "{}", err.message);
}

#[test]
fn missing_settings_name_the_variable() {
    let err = config(&OPCP_OPENRC.replace("export OS_CLIENT_ID=openstack-cli\n", "")).unwrap_err();
    assert_eq!(err.message, "openrc.sh: OS_CLIENT_ID is not set");
    assert!(err.hint.unwrap().contains("export OS_CLIENT_ID="));
}

#[test]
fn computed_settings_name_file_and_line() {
    let text = OPCP_OPENRC.replace(
        "export OS_USERNAME=\"alice\"",
        "export OS_USERNAME=$(whoami)",
    );
    let err = config(&text).unwrap_err();
    assert_eq!(
        err.message,
        "openrc.sh:9: OS_USERNAME is computed by a `$(…)` command substitution, and import never runs the file"
    );
}

#[test]
fn a_computed_password_is_refused_without_a_terminal() {
    // Test runs have no terminal on stdin.
    if prompt::stdin_is_terminal() {
        return;
    }
    let text = OPCP_OPENRC.replace(
        "export OS_PASSWORD='fake-p@ss'\\''word'",
        "read -sr PW\nexport OS_PASSWORD=$PW",
    );
    let parsed = openrc::parse(&text).unwrap();
    let vars = Vars {
        parsed: &parsed,
        source: "openrc.sh",
    };
    let err = secret(&vars, "OS_PASSWORD", "Keycloak password").unwrap_err();
    assert_eq!(
        err.message,
        "openrc.sh:11: OS_PASSWORD is computed by a `$NAME` expansion, and import never runs the file"
    );
    let err = secret(&vars, "OS_NOT_THERE", "x").unwrap_err();
    assert_eq!(err.message, "openrc.sh: OS_NOT_THERE is not set");
}

#[test]
fn project_by_name_with_its_domain() {
    let text = OPCP_OPENRC.replace(
        "export OS_PROJECT_ID=0123abcd",
        "export OS_PROJECT_NAME=web\nexport OS_PROJECT_DOMAIN_NAME=ops",
    );
    let config = config(&text).unwrap();
    assert_eq!(
        (
            config.project_id,
            config.project_name.as_deref(),
            config.project_domain_name.as_deref()
        ),
        (None, Some("web"), Some("ops"))
    );
}

#[test]
fn discovery_is_derived_from_a_keycloak_token_endpoint() {
    let text = OPCP_OPENRC.replace(
        "export OS_DISCOVERY_ENDPOINT=\"https://keycloak.region.example.test/realms/pod/.well-known/openid-configuration\"",
        "export OS_ACCESS_TOKEN_ENDPOINT=https://kc.example.test/realms/pod/protocol/openid-connect/token",
    );
    assert_eq!(
        config(&text).unwrap().discovery_endpoint,
        "https://kc.example.test/realms/pod/.well-known/openid-configuration"
    );
}

#[test]
fn a_relative_cacert_becomes_absolute_and_scope_is_kept() {
    let text =
        format!("{OPCP_OPENRC}export OS_CACERT=ca.pem\nexport OS_OPENID_SCOPE='openid profile'\n");
    let config = config(&text).unwrap();
    assert!(config.cacert.as_deref().unwrap().starts_with('/'));
    assert_eq!(config.scope.as_deref(), Some("openid profile"));
}

#[test]
fn the_environment_is_named_without_a_line() {
    let parsed = Parsed::from_env([("OS_AUTH_TYPE".to_owned(), "password".to_owned())]);
    let err = config_from(&Vars {
        parsed: &parsed,
        source: "the environment",
    })
    .unwrap_err();
    assert!(
        err.message
            .starts_with("the environment: OS_AUTH_TYPE is `password`"),
        "{}",
        err.message
    );
}

#[test]
fn unreadable_and_malformed_files_import_nothing() {
    let err = read_source(Some(Path::new("/nonexistent/openrc.sh"))).unwrap_err();
    assert_eq!(err.code, Code::Usage);
    assert!(
        err.message
            .starts_with("cannot read /nonexistent/openrc.sh: "),
        "{}",
        err.message
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openrc.sh");
    std::fs::write(&file, "export OS_A=1\nexport OS_PASSWORD='unterminated\n").unwrap();
    let err = read_source(Some(&file)).unwrap_err();
    assert_eq!(err.code, Code::Config);
    assert_eq!(
        err.message,
        format!(
            "{}:2: unterminated single quote (it opens here and is never closed); nothing was imported",
            file.display()
        )
    );
}
