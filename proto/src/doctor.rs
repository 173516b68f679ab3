//! `opcp-cred doctor`: the checks, their order, the exit code of each, and the report.
//!
//! The steps run in [`STEPS`] order and stop at the first failure: each one needs the ones
//! before it (no scope without a federation token, no login without secrets). The first,
//! [`Step::Daemon`], is the client's own (can it reach the daemon at all); the daemon runs the
//! others, because it owns the config, the keyring and the network.
//!
//! Exit codes: 0 when every step passed, else [`DOCTOR_EXIT_BASE`] + the number of the step
//! that failed (11 daemon … 20 clock), clear of the other commands' codes 0–7.

use serde::{Deserialize, Serialize};

use crate::ErrorKind;

/// `doctor` exits with this plus the number of the failed step.
pub const DOCTOR_EXIT_BASE: u8 = 10;

/// Every step, in the order they run.
pub const STEPS: [Step; 10] = [
    Step::Daemon,
    Step::Config,
    Step::Keyring,
    Step::Secrets,
    Step::Discovery,
    Step::Tls,
    Step::Keycloak,
    Step::Federation,
    Step::Project,
    Step::Clock,
];

/// One check; [`Step::summary`] says what it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    Daemon,
    Config,
    Keyring,
    Secrets,
    Discovery,
    Tls,
    Keycloak,
    Federation,
    Project,
    Clock,
    /// A step this client does not know (a newer daemon).
    #[serde(other)]
    Unknown,
}

impl Step {
    /// 1-based position in [`STEPS`]; 0 for [`Step::Unknown`].
    pub fn number(self) -> u8 {
        STEPS
            .iter()
            .position(|step| *step == self)
            .and_then(|index| u8::try_from(index + 1).ok())
            .unwrap_or(0)
    }

    /// The exit code of `doctor` when this step fails (1 for an unknown step).
    pub fn exit_code(self) -> u8 {
        match self.number() {
            0 => crate::ExitCode::Failure as u8,
            number => DOCTOR_EXIT_BASE + number,
        }
    }

    /// What the step checks, for `doctor --help` and the README.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Daemon => "opcp-credd answers on its socket",
            Self::Config => "config.toml loads and has the profile (else: its file, line and key)",
            Self::Keyring => "the keyring store answers and is unlocked",
            Self::Secrets => "the profile's password and client secret are in the keyring",
            Self::Discovery => "Keycloak's OIDC discovery document can be fetched and read",
            Self::Tls => "the certificates of Keycloak and Keystone are trusted",
            Self::Keycloak => {
                "Keycloak accepts the stored password (one it rejected before is reported, not \
                 sent again: that would lock the account)"
            }
            Self::Federation => "Keystone trades the Keycloak token for its own",
            Self::Project => "Keystone scopes a token to the profile's project",
            Self::Clock => "this host's clock is within 5 minutes of the servers' `Date`",
            Self::Unknown => "a step this client does not know",
        }
    }

    /// The name shown and used on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Daemon => "daemon",
            Self::Config => "config",
            Self::Keyring => "keyring",
            Self::Secrets => "secrets",
            Self::Discovery => "discovery",
            Self::Tls => "tls",
            Self::Keycloak => "keycloak",
            Self::Federation => "federation",
            Self::Project => "project",
            Self::Clock => "clock",
            Self::Unknown => "unknown",
        }
    }
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepState {
    Ok,
    Failed,
    /// An earlier step failed, so this one was not tried.
    NotChecked,
    #[serde(other)]
    Unknown,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorStep {
    pub step: Step,
    pub state: StepState,
    /// What was found (ok) or what is wrong (failed): a lower-case sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Failed only: what to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Failed only: the error kind, as in error bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
}

impl DoctorStep {
    pub fn ok(step: Step, detail: impl Into<String>) -> Self {
        Self {
            step,
            state: StepState::Ok,
            detail: detail.into(),
            fix: None,
            kind: None,
        }
    }

    /// `kind` is `None` where no error body was involved (the daemon did not answer).
    pub fn failed(
        step: Step,
        kind: Option<ErrorKind>,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self {
            step,
            state: StepState::Failed,
            detail: detail.into(),
            fix,
            kind,
        }
    }

    pub fn not_checked(step: Step) -> Self {
        Self {
            step,
            state: StepState::NotChecked,
            detail: String::new(),
            fix: None,
            kind: None,
        }
    }
}

/// `POST /v1/doctor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorRequest {
    /// `None`: the daemon's default profile, chosen as for a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// The answer to `POST /v1/doctor`, and what `doctor --json` prints (with the client's
/// [`Step::Daemon`] first and its warnings added).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorReport {
    /// The profile checked, once known.
    #[serde(default)]
    pub profile: Option<String>,
    pub steps: Vec<DoctorStep>,
    /// The proxy variables in the daemon's environment, credentials masked.
    #[serde(default)]
    pub daemon_proxy_env: Vec<EnvVar>,
    /// The profile's `proxy` setting, credentials masked.
    #[serde(default)]
    pub profile_proxy: Option<String>,
    /// Things that work but may not for long, or not everywhere.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl DoctorReport {
    /// The first step that failed.
    pub fn first_failure(&self) -> Option<&DoctorStep> {
        self.steps
            .iter()
            .find(|step| step.state == StepState::Failed)
    }

    /// 0 when nothing failed, else the failed step's code.
    pub fn exit_code(&self) -> u8 {
        self.first_failure()
            .map_or(crate::ExitCode::Ok as u8, |failed| failed.step.exit_code())
    }
}

/// An environment variable and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// The variables reqwest (like curl) reads, upper-case first: it takes the first one set.
pub const PROXY_VARS: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Whether `name` names a proxy (rather than the exceptions, `no_proxy`).
pub fn is_proxy_var(name: &str) -> bool {
    !name.eq_ignore_ascii_case("no_proxy")
}

/// The proxy variables set (non-empty) in an environment, credentials masked.
pub fn proxy_env(lookup: impl Fn(&str) -> Option<String>) -> Vec<EnvVar> {
    PROXY_VARS
        .iter()
        .filter_map(|name| {
            let value = lookup(name).filter(|value| !value.trim().is_empty())?;
            Some(EnvVar {
                name: (*name).to_owned(),
                value: mask_credentials(&value),
            })
        })
        .collect()
}

/// A proxy URL fit to show: `user:password@` becomes `***@`. Works without a scheme
/// (`user:pw@proxy:3128`, as the variables often hold) and never fails. Everything up to the
/// last `@` goes, not only up to the first `/`: a password may hold a `/`, a proxy URL has
/// no path worth showing.
pub fn mask_credentials(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    match rest.rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_ten_plus_the_step_number_and_clear_of_0_to_7() {
        let codes: Vec<u8> = STEPS.iter().map(|step| step.exit_code()).collect();
        assert_eq!(codes, (11..=20).collect::<Vec<u8>>());
        assert_eq!(Step::Daemon.number(), 1);
        assert_eq!(Step::Clock.number(), 10);
        assert_eq!(Step::Unknown.exit_code(), 1);
    }

    #[test]
    fn golden_request_and_report() {
        let request = DoctorRequest {
            profile: Some("pod".into()),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(json, r#"{"profile":"pod"}"#);
        assert_eq!(
            serde_json::from_str::<DoctorRequest>("{}").unwrap(),
            DoctorRequest::default()
        );

        let report = DoctorReport {
            profile: Some("pod".into()),
            steps: vec![
                DoctorStep::ok(Step::Config, "profile `pod` in /c.toml"),
                DoctorStep::failed(
                    Step::Keyring,
                    Some(ErrorKind::KeyringUnavailable),
                    "the login keyring is locked",
                    Some("unlock it".into()),
                ),
                DoctorStep::not_checked(Step::Secrets),
            ],
            daemon_proxy_env: vec![EnvVar {
                name: "https_proxy".into(),
                value: "http://***@proxy.example.test:3128".into(),
            }],
            profile_proxy: None,
            warnings: vec!["w".into()],
        };
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(
            json,
            r#"{"profile":"pod","steps":[{"step":"config","state":"ok","detail":"profile `pod` in /c.toml"},{"step":"keyring","state":"failed","detail":"the login keyring is locked","fix":"unlock it","kind":"keyring_unavailable"},{"step":"secrets","state":"not_checked"}],"daemon_proxy_env":[{"name":"https_proxy","value":"http://***@proxy.example.test:3128"}],"profile_proxy":null,"warnings":["w"]}"#
        );
        assert_eq!(serde_json::from_str::<DoctorReport>(&json).unwrap(), report);
        assert_eq!(report.exit_code(), 13);
        assert_eq!(DoctorReport::default().exit_code(), 0);
    }

    #[test]
    fn unknown_steps_states_and_fields_still_parse() {
        let json = r#"{"steps":[{"step":"from_the_future","state":"pondering","extra":1},{"step":"tls","state":"failed","kind":"new_kind"}],"more":true}"#;
        let report: DoctorReport = serde_json::from_str(json).unwrap();
        assert_eq!(report.steps[0].step, Step::Unknown);
        assert_eq!(report.steps[0].state, StepState::Unknown);
        assert_eq!(report.steps[1].kind, Some(ErrorKind::Unknown));
        assert_eq!(report.exit_code(), 16);
    }

    #[test]
    fn credentials_in_proxy_urls_are_masked() {
        for (given, shown) in [
            (
                "http://user:fake-pass@proxy.example.test:3128",
                "http://***@proxy.example.test:3128",
            ),
            (
                "user:fake-pass@proxy.example.test:3128",
                "***@proxy.example.test:3128",
            ),
            (
                "http://u:p@ss/w@proxy.example.test:3128/",
                "http://***@proxy.example.test:3128/",
            ),
            (
                "http://proxy.example.test:3128",
                "http://proxy.example.test:3128",
            ),
            ("", ""),
        ] {
            assert_eq!(mask_credentials(given), shown, "{given}");
        }
    }

    #[test]
    fn proxy_env_keeps_set_variables_in_order_and_masks_them() {
        let env = |name: &str| match name {
            "no_proxy" => Some("localhost".to_owned()),
            "https_proxy" => Some("http://u:fake-pw@proxy.example.test:3128".to_owned()),
            "HTTP_PROXY" => Some(" ".to_owned()),
            _ => None,
        };
        let vars = proxy_env(env);
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["https_proxy", "no_proxy"]);
        assert_eq!(vars[0].value, "http://***@proxy.example.test:3128");
        assert!(is_proxy_var("HTTPS_PROXY") && !is_proxy_var("NO_PROXY"));
    }
}
