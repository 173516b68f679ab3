use std::collections::VecDeque;

use opcp_cred_proto::messages::ProfileConfig;

use super::resolve::{CLIENT_SECRET, PASSWORD};
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

fn settings(text: &str) -> Settings {
    let env = |name: &str| (name == "HOME").then(|| "/home/test".to_owned());
    let parsed = openrc::parse(text, &env).unwrap();
    Settings::from_openrc(&parsed, "openrc.sh", Kind::Openrc)
}

/// A person who answers from a script, and what they were asked.
#[derive(Default)]
struct Person {
    answers: VecDeque<&'static str>,
    asked: Vec<String>,
}

impl Ask for Person {
    fn hidden(&mut self, why: &str, question: &str) -> Result<Secret, CliError> {
        self.asked.push(format!("{why} / {question} (hidden)"));
        Ok(Secret::new(self.answers.pop_front().expect("an answer")))
    }
    fn visible(&mut self, why: &str, question: &str) -> Result<Option<String>, CliError> {
        self.asked.push(format!("{why} / {question}"));
        Ok(Some(
            self.answers.pop_front().expect("an answer").to_owned(),
        ))
    }
    fn yes(&mut self, why: &str, question: &str) -> Result<bool, CliError> {
        self.asked.push(format!("{why} / {question} (yes/no)"));
        Ok(self.answers.pop_front() == Some("y"))
    }
}

fn config(text: &str) -> Result<ProfileConfig, CliError> {
    profile::config_from(&mut Resolver::new(&settings(text), None, false))
}

/// The password as import would store it, with `person` at the terminal (or nobody).
fn password(
    text: &str,
    person: Option<&mut Person>,
    allow_empty: bool,
) -> Result<String, CliError> {
    let settings = settings(text);
    let ask = person.map(|p| p as &mut dyn Ask);
    let mut vars = Resolver::new(&settings, ask, allow_empty);
    vars.secret("OS_PASSWORD", PASSWORD)
        .map(|s| s.expose().to_owned())
}

fn with_password(line: &str) -> String {
    OPCP_OPENRC.replace("export OS_PASSWORD='fake-p@ss'\\''word'", line)
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
    assert_eq!(
        (config.client_id.as_str(), config.username.as_str()),
        ("openstack-cli", "alice")
    );
    assert_eq!(config.project_id.as_deref(), Some("0123abcd"));
    assert_eq!(config.interface.as_deref(), Some("public"));
    assert_eq!(config.region_name, None, "empty means unset");
    assert_eq!(config.cacert, None);
}

#[test]
fn secrets_come_out_literal() {
    let settings = settings(OPCP_OPENRC);
    let mut vars = Resolver::new(&settings, None, false);
    assert_eq!(
        vars.secret("OS_PASSWORD", PASSWORD).unwrap().expose(),
        "fake-p@ss'word"
    );
    assert_eq!(
        vars.secret("OS_CLIENT_SECRET", CLIENT_SECRET)
            .unwrap()
            .expose(),
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
    assert_eq!(
        err.message,
        "openrc.sh: OS_CLIENT_ID is not set; nothing was imported"
    );
    assert!(
        err.hint
            .unwrap()
            .contains("add `export OS_CLIENT_ID=…` to openrc.sh")
    );
}

#[test]
fn computed_settings_name_file_and_line_and_are_asked_on_a_terminal() {
    let text = OPCP_OPENRC.replace(
        "export OS_USERNAME=\"alice\"",
        "export OS_USERNAME=$(whoami)",
    );
    let err = config(&text).unwrap_err();
    assert_eq!(
        err.message,
        "openrc.sh:9: OS_USERNAME is computed by a `$(…)` command substitution, and import never runs the file, and stdin is not a terminal to ask on; nothing was stored"
    );
    assert!(
        err.hint
            .unwrap()
            .starts_with("write the value out in the file")
    );

    let mut person = Person {
        answers: ["alice-typed"].into(),
        ..Person::default()
    };
    let settings = settings(&text);
    let config =
        profile::config_from(&mut Resolver::new(&settings, Some(&mut person), false)).unwrap();
    assert_eq!(config.username, "alice-typed");
    assert_eq!(person.asked.len(), 1);
    assert!(
        person.asked[0].ends_with("asking for it instead / OS_USERNAME"),
        "{:?}",
        person.asked
    );
}

#[test]
fn a_password_typed_at_read_is_asked_for_or_refused_naming_the_flag() {
    let text = with_password("echo 'Password: '\nread -sr PW\nexport OS_PASSWORD=$PW");
    let err = password(&text, None, false).unwrap_err();
    assert_eq!(
        err.message,
        "openrc.sh:12: OS_PASSWORD is typed at the `read` on line 11, and stdin is not a terminal to ask on; nothing was stored"
    );
    assert!(
        err.hint
            .unwrap()
            .starts_with("pass it on stdin with --password-stdin")
    );

    let mut person = Person {
        answers: ["typed-pw"].into(),
        ..Person::default()
    };
    assert_eq!(
        password(&text, Some(&mut person), false).unwrap(),
        "typed-pw"
    );
    assert!(
        person.asked[0].ends_with("/ Keycloak password (hidden)"),
        "{:?}",
        person.asked
    );
}

#[test]
fn computed_or_missing_secrets_are_asked_for_hidden() {
    let text = with_password("export OS_PASSWORD=`pass show cloud`");
    let err = password(&text, None, false).unwrap_err();
    assert!(
        err.message
            .starts_with("openrc.sh:10: OS_PASSWORD is computed by a backquoted command"),
        "{}",
        err.message
    );
    let mut person = Person {
        answers: ["typed"].into(),
        ..Person::default()
    };
    assert_eq!(password(&text, Some(&mut person), false).unwrap(), "typed");

    let text = with_password("");
    let err = password(&text, None, false).unwrap_err();
    assert_eq!(
        err.message,
        "openrc.sh: OS_PASSWORD is not set, and stdin is not a terminal to ask on; nothing was stored"
    );
}

#[test]
fn a_dollar_name_that_expands_to_nothing_is_confirmed_never_dropped() {
    let text = with_password("export OS_PASSWORD=fake$word-pw$1");
    let err = password(&text, None, false).unwrap_err();
    assert_eq!(
        err.message,
        "openrc.sh:10: OS_PASSWORD holds `$word`, `$1`: unset at that line, the shell expands them to nothing; nothing was stored"
    );
    let hint = err.hint.unwrap();
    assert!(
        hint.contains("--allow-empty") && hint.contains("--password-stdin"),
        "{hint}"
    );
    assert_eq!(
        password(&text, None, true).unwrap(),
        "fake-pw",
        "as the shell reads it"
    );

    let mut yes = Person {
        answers: ["y"].into(),
        ..Person::default()
    };
    assert_eq!(password(&text, Some(&mut yes), false).unwrap(), "fake-pw");
    assert!(
        yes.asked[0].contains("is OS_PASSWORD right without `$word`, `$1`"),
        "{:?}",
        yes.asked
    );
    let mut no = Person {
        answers: ["n", "fake$word-pw$1"].into(),
        ..Person::default()
    };
    assert_eq!(
        password(&text, Some(&mut no), false).unwrap(),
        "fake$word-pw$1"
    );
    assert!(
        no.asked[1].ends_with("/ Keycloak password (hidden)"),
        "{:?}",
        no.asked
    );
}

#[test]
fn values_from_the_environment_are_noted() {
    let text = format!("{OPCP_OPENRC}export OS_CACERT=~/ca.pem\n");
    let settings = settings(&text);
    let mut vars = Resolver::new(&settings, None, false);
    let config = profile::config_from(&mut vars).unwrap();
    assert_eq!(config.cacert.as_deref(), Some("/home/test/ca.pem"));
    assert_eq!(
        vars.notes,
        ["openrc.sh:15: OS_CACERT uses `$HOME` from the environment"]
    );
}

#[test]
fn project_by_name_needs_its_domain_by_name() {
    let by_name = "export OS_PROJECT_NAME=web\nexport OS_PROJECT_DOMAIN_NAME=ops";
    let named = config(&OPCP_OPENRC.replace("export OS_PROJECT_ID=0123abcd", by_name)).unwrap();
    assert_eq!(
        (
            named.project_id,
            named.project_name.as_deref(),
            named.project_domain_name.as_deref()
        ),
        (None, Some("web"), Some("ops"))
    );
    let by_id = "export OS_PROJECT_NAME=web\nexport OS_PROJECT_DOMAIN_ID=d0";
    let err = config(&OPCP_OPENRC.replace("export OS_PROJECT_ID=0123abcd", by_id)).unwrap_err();
    assert!(
        err.message.contains("domain with id `d0`"),
        "{}",
        err.message
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
    let settings = Settings::from_openrc(&parsed, "the environment", Kind::Environment);
    let err = profile::config_from(&mut Resolver::new(&settings, None, false)).unwrap_err();
    assert!(
        err.message
            .starts_with("the environment: OS_AUTH_TYPE is `password`"),
        "{}",
        err.message
    );
}

#[test]
fn a_malformed_file_names_its_line_and_imports_nothing() {
    let text = Secret::new("export OS_A=1\nexport OS_PASSWORD='unterminated\n");
    let err = parse_openrc("/tmp/openrc.sh", &text).unwrap_err();
    assert_eq!(err.code, Code::Config);
    assert_eq!(
        err.message,
        "/tmp/openrc.sh:2: unterminated single quote (it opens here and is never closed); nothing was imported"
    );
}

#[test]
fn rewrite_needs_a_file() {
    use clap::Parser as _;
    let args = |argv: &[&str]| match crate::cli::Cli::try_parse_from(argv) {
        Ok(crate::cli::Cli {
            command: crate::cli::Command::Import(args),
        }) => Ok(args),
        Ok(_) => panic!("not import"),
        Err(e) => Err(e),
    };
    for argv in [
        &["opcp-cred", "import", "--rewrite"][..],
        &["opcp-cred", "import", "--rewrite", "-"],
    ] {
        let err = check_args(&args(argv).unwrap()).unwrap_err();
        assert_eq!(err.code, Code::Usage, "{argv:?}");
    }
    check_args(&args(&["opcp-cred", "import", "--rewrite", "--cloud", "pod"]).unwrap()).unwrap();
    check_args(&args(&["opcp-cred", "import", "--rewrite", "--backup", "f.sh"]).unwrap()).unwrap();
    assert!(
        args(&["opcp-cred", "import", "--backup", "f.sh"]).is_err(),
        "--backup needs --rewrite"
    );
    assert!(args(&["opcp-cred", "import", "--cloud", "pod", "f.sh"]).is_err());
    let parsed = args(&["opcp-cred", "import", "--clouds-yaml", "--cloud", "pod"]).unwrap();
    assert_eq!(parsed.clouds_yaml, Some(None));
}
