use clap::CommandFactory as _;
use opcp_cred_proto::ErrorKind;

use super::*;
use crate::cli::Cli;

fn var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: value.into(),
    }
}

fn report(failed_at: Option<Step>) -> DoctorReport {
    let mut steps = Vec::new();
    let mut failed = false;
    for step in STEPS {
        steps.push(if failed {
            DoctorStep::not_checked(step)
        } else if Some(step) == failed_at {
            failed = true;
            DoctorStep::failed(
                step,
                Some(ErrorKind::AuthRejected),
                "username or password rejected by keycloak realm `pod` for user `alice`",
                Some("run `opcp-cred login`".into()),
            )
        } else {
            DoctorStep::ok(step, format!("{} fine", step.name()))
        });
    }
    DoctorReport {
        profile: Some("pod".into()),
        steps,
        ..DoctorReport::default()
    }
}

#[test]
fn renders_marks_numbers_and_the_fix_of_the_failure() {
    let mut report = report(Some(Step::Keycloak));
    report.daemon_proxy_env = vec![var("https_proxy", "http://***@proxy.example.test:3128")];
    report.warnings = vec!["w\u{1b}[31m".into()];
    let text = render(&report);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "profile pod");
    assert_eq!(lines[1], "✓  1 daemon      daemon fine");
    assert_eq!(
        lines[7],
        "✗  7 keycloak    username or password rejected by keycloak realm `pod` for user `alice`"
    );
    assert_eq!(lines[8], "                 fix: run `opcp-cred login`");
    assert_eq!(lines[9], "·  8 federation  not checked");
    assert_eq!(lines[11], "· 10 clock       not checked");
    assert_eq!(
        lines[12],
        "proxy: from the daemon's environment: https_proxy=http://***@proxy.example.test:3128"
    );
    assert_eq!(lines[13], "warning: w?[31m");
    assert_eq!(report.exit_code(), 17);
}

#[test]
fn an_unreachable_daemon_is_the_first_failure() {
    let err = CliError::unreachable("opcp-credd is not running: there is no socket /s")
        .with_hint("start it");
    let report = without_daemon(&err);
    assert_eq!(report.exit_code(), 11);
    assert_eq!(report.steps.len(), STEPS.len());
    assert_eq!(report.steps[0].fix.as_deref(), Some("start it"));
    assert_eq!(report.steps[0].kind, None);
    assert!(
        report.steps[1..]
            .iter()
            .all(|s| s.state == StepState::NotChecked)
    );
    assert!(
        !render(&report).contains("proxy:"),
        "no profile, no proxy line"
    );
}

#[test]
fn a_shell_proxy_the_daemon_lacks_is_a_warning() {
    let shell = [
        var("no_proxy", "localhost"),
        var("HTTPS_PROXY", "http://***@proxy.example.test:3128"),
    ];
    let bare = report(None);
    let warning = proxy_warning(&shell, &bare).expect("a warning");
    assert!(
        warning.contains("HTTPS_PROXY=http://***@proxy.example.test:3128"),
        "{warning}"
    );
    assert!(warning.contains("systemd"), "{warning}");
    assert!(
        warning.contains("opcp-cred login --profile pod --proxy URL"),
        "{warning}"
    );

    let mut daemon_has_it = report(None);
    daemon_has_it.daemon_proxy_env = vec![var("http_proxy", "http://proxy.example.test:3128")];
    assert_eq!(proxy_warning(&shell, &daemon_has_it), None);
    let mut profile_has_it = report(None);
    profile_has_it.profile_proxy = Some("http://proxy.example.test:3128".into());
    assert_eq!(proxy_warning(&shell, &profile_has_it), None);
    assert_eq!(
        proxy_warning(&[var("no_proxy", "x")], &bare),
        None,
        "no_proxy is no proxy"
    );
}

#[test]
fn the_help_lists_every_step_with_its_exit_code() {
    let mut cli = Cli::command();
    let doctor = cli
        .find_subcommand_mut("doctor")
        .expect("a doctor subcommand");
    let help = doctor.render_long_help().to_string();
    for step in STEPS {
        let line = format!("{} {}", step.exit_code(), step.name());
        assert!(help.contains(&line), "`{line}` missing from:\n{help}");
    }
}
