use clap::Parser as _;
use opcp_cred_proto::messages::ClientAuth;

use super::*;
use crate::cli::{Cli, Command};
use crate::error::Code;

fn login_args(args: &[&str]) -> LoginArgs {
    let cli = Cli::try_parse_from(["opcp-cred", "login"].iter().chain(args)).unwrap();
    let Command::Login(args) = cli.command else {
        panic!("not login")
    };
    *args
}

fn never_ask(flag: &str, _: &str) -> Result<String, CliError> {
    panic!("asked for {flag}")
}

fn refuse(flag: &str, _: &str) -> Result<String, CliError> {
    Err(CliError::usage(format!("{flag} is required")))
}

fn stored() -> ProfileConfig {
    ProfileConfig {
        auth_url: "https://keystone.old.example.test".into(),
        identity_provider: "old-idp".into(),
        protocol: "oldproto".into(),
        discovery_endpoint: "https://old.example.test/.well-known/openid-configuration".into(),
        client_id: "old-client".into(),
        username: "alice".into(),
        project_id: Some("old-project".into()),
        project_name: None,
        project_domain_name: None,
        interface: Some("internal".into()),
        region_name: Some("RegionOne".into()),
        cacert: Some("/etc/old-ca.pem".into()),
        insecure: false,
        proxy: Some("http://proxy.example.test:3128".into()),
        client_auth: ClientAuth::Post,
        scope: Some("openid profile".into()),
        refresh_at: None,
    }
}

#[test]
fn fqdn_and_realm_derive_the_opcp_endpoints() {
    let master = opcp_endpoints("region.example.test", Realm::Master).unwrap();
    assert_eq!(
        master,
        Endpoints {
            auth_url: "https://keystone.region.example.test".into(),
            identity_provider: "keycloak-admin",
            protocol: "openid",
            discovery_endpoint: "https://admin.keycloak.region.example.test/realms/master/.well-known/openid-configuration".into(),
        }
    );
    let pod = opcp_endpoints("region.example.test.", Realm::Pod).unwrap();
    assert_eq!(
        pod,
        Endpoints {
            auth_url: "https://keystone.region.example.test".into(),
            identity_provider: "keycloak",
            protocol: "openid",
            discovery_endpoint:
                "https://keycloak.region.example.test/realms/pod/.well-known/openid-configuration"
                    .into(),
        }
    );
}

#[test]
fn urls_are_not_host_names() {
    for bad in [
        "https://region.example.test",
        "region.example.test:443",
        "",
        "a b",
        "u@h",
    ] {
        let err = opcp_endpoints(bad, Realm::Pod).unwrap_err();
        assert_eq!(err.code, Code::Usage, "{bad}");
        assert!(
            err.message.starts_with("--fqdn takes a host name"),
            "{}",
            err.message
        );
    }
}

#[test]
fn a_new_profile_from_fqdn_and_flags_needs_no_questions() {
    let args = login_args(&[
        "--fqdn",
        "region.example.test",
        "--realm",
        "pod",
        "--client-id",
        "cli",
        "--username",
        "bob",
        "--project-name",
        "web",
        "--region-name",
        "R1",
        "--client-auth",
        "post",
    ]);
    let config = build_config(&args, None, never_ask).unwrap();
    assert_eq!(config.auth_url, "https://keystone.region.example.test");
    assert_eq!(config.identity_provider, "keycloak");
    assert_eq!(config.protocol, "openid");
    assert_eq!(config.client_id, "cli");
    assert_eq!(config.username, "bob");
    assert_eq!(config.project_name.as_deref(), Some("web"));
    assert_eq!(config.project_id, None);
    assert_eq!(config.region_name.as_deref(), Some("R1"));
    assert_eq!(config.interface, None);
    assert_eq!(config.client_auth, ClientAuth::Post);
}

#[test]
fn missing_values_are_asked_for_by_flag_name() {
    let args = login_args(&["--auth-url", "https://keystone.example.test"]);
    let mut asked = Vec::new();
    let config = build_config(&args, None, |flag, _| {
        asked.push(flag.to_owned());
        Ok(format!("answer{}", asked.len()))
    })
    .unwrap();
    assert_eq!(
        asked,
        [
            "--identity-provider",
            "--discovery-endpoint",
            "--client-id",
            "--username"
        ]
    );
    assert_eq!(config.identity_provider, "answer1");
    assert_eq!(config.username, "answer4");
    assert_eq!(config.protocol, "openid");
    let err = build_config(&args, None, refuse).unwrap_err();
    assert_eq!(err.message, "--identity-provider is required");
}

#[test]
fn a_stored_profile_fills_everything_not_given() {
    let config = build_config(&login_args(&[]), Some(&stored()), never_ask).unwrap();
    assert_eq!(config, stored());
}

#[test]
fn flags_and_fqdn_override_the_stored_profile() {
    let args = login_args(&[
        "--fqdn",
        "new.example.test",
        "--realm",
        "master",
        "--username",
        "carol",
        "--project-id",
        "new-project",
    ]);
    let config = build_config(&args, Some(&stored()), never_ask).unwrap();
    assert_eq!(config.auth_url, "https://keystone.new.example.test");
    assert_eq!(config.identity_provider, "keycloak-admin");
    assert_eq!(config.protocol, "openid");
    assert_eq!(config.username, "carol");
    assert_eq!(config.client_id, "old-client");
    assert_eq!(config.project_id.as_deref(), Some("new-project"));
    assert_eq!(config.proxy, stored().proxy);
}

#[test]
fn a_project_name_replaces_a_stored_project_id() {
    let args = login_args(&["--project-name", "web", "--project-domain-name", "ops"]);
    let config = build_config(&args, Some(&stored()), never_ask).unwrap();
    assert_eq!(config.project_id, None);
    assert_eq!(config.project_name.as_deref(), Some("web"));
    assert_eq!(config.project_domain_name.as_deref(), Some("ops"));
}

#[test]
fn a_relative_cacert_becomes_absolute() {
    let config = build_config(
        &login_args(&["--cacert", "certs/ca.pem"]),
        Some(&stored()),
        never_ask,
    )
    .unwrap();
    let cacert = config.cacert.unwrap();
    assert!(Path::new(&cacert).is_absolute(), "{cacert}");
    assert!(cacert.ends_with("/certs/ca.pem"), "{cacert}");
}

#[test]
fn the_wizard_asks_for_the_cloud_first_and_derives_opcp_endpoints() {
    let args = login_args(&[]);
    let mut asked = Vec::new();
    let answers = ["region.example.test", "master", "openstack-cli", "alice"];
    let config = build_config(&args, None, |flag, _| {
        asked.push(flag.to_owned());
        Ok(answers[asked.len() - 1].to_owned())
    })
    .unwrap();
    assert_eq!(
        asked,
        [
            "--fqdn or --auth-url",
            "--realm",
            "--client-id",
            "--username"
        ]
    );
    assert_eq!(config.auth_url, "https://keystone.region.example.test");
    assert_eq!(config.identity_provider, "keycloak-admin");
    assert!(
        config
            .discovery_endpoint
            .contains("admin.keycloak.region.example.test/realms/master")
    );
}

#[test]
fn a_keystone_url_at_the_first_question_asks_for_the_rest() {
    let args = login_args(&[]);
    let mut asked = Vec::new();
    let config = build_config(&args, None, |flag, _| {
        asked.push(flag.to_owned());
        Ok(match flag {
            "--fqdn or --auth-url" => "http://127.0.0.1:5000/identity".to_owned(),
            other => format!("answer-for{other}"),
        })
    })
    .unwrap();
    assert_eq!(
        asked,
        [
            "--fqdn or --auth-url",
            "--identity-provider",
            "--discovery-endpoint",
            "--client-id",
            "--username"
        ]
    );
    assert_eq!(config.auth_url, "http://127.0.0.1:5000/identity");
    let err = build_config(&args, None, |flag, _| {
        Ok(if flag == "--realm" {
            "pdo"
        } else {
            "region.example.test"
        }
        .to_owned())
    })
    .unwrap_err();
    assert!(
        err.message.contains("pod or master, not `pdo`"),
        "{}",
        err.message
    );
}

#[test]
fn a_project_is_picked_by_number_id_or_unique_name() {
    let project = |id: &str, name: &str| Project {
        id: id.into(),
        name: name.into(),
        domain_id: None,
    };
    let projects = [
        project("aaaa", "web"),
        project("bbbb", "db"),
        project("cccc", "db"),
    ];
    assert_eq!(pick_project(&projects, " 2 ").unwrap().id, "bbbb");
    assert_eq!(pick_project(&projects, "cccc").unwrap().id, "cccc");
    assert_eq!(pick_project(&projects, "web").unwrap().id, "aaaa");
    assert!(pick_project(&projects, "db").is_none(), "ambiguous name");
    assert!(pick_project(&projects, "0").is_none());
    assert!(pick_project(&projects, "4").is_none());
    assert!(pick_project(&projects, "").is_none());
}

#[test]
fn a_proxy_flag_replaces_the_stored_proxy() {
    let args = login_args(&["--proxy", "http://other-proxy.example.test:8080"]);
    let config = build_config(&args, Some(&stored()), never_ask).unwrap();
    assert_eq!(
        config.proxy.as_deref(),
        Some("http://other-proxy.example.test:8080")
    );
}
