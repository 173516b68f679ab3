//! `opcp-cred doctor`: the daemon runs the checks (it owns the config, the keyring and the
//! network); this side adds the first one, whether the daemon answers at all, compares the
//! shell's proxy variables with the daemon's, and renders ✓/✗ lines with the fix of the first
//! failure, or JSON. The exit code is the failed step's (see `doctor --help`).

use std::fmt::Write as _;

use opcp_cred_proto::doctor::{
    DoctorReport, DoctorRequest, DoctorStep, EnvVar, STEPS, Step, StepState, is_proxy_var,
    proxy_env,
};
use opcp_cred_proto::messages::Status;
use opcp_cred_proto::version::mismatch_advice;
use opcp_cred_proto::{API_VERSION, routes};

use super::{printable, write_stdout};
use crate::cli::DoctorArgs;
use crate::daemon::Daemon;
use crate::error::{CliError, Code};

pub async fn run(args: &DoctorArgs) -> anyhow::Result<()> {
    let request = DoctorRequest {
        profile: args.profile.resolve()?,
    };
    let shell_proxy = proxy_env(|name| std::env::var(name).ok());
    let report = match Daemon::connect().await {
        Ok(mut daemon) => ask(&mut daemon, &request, &shell_proxy).await,
        Err(err) => without_daemon(&err),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&report)?;
        write_stdout(&format!("{json}\n"))?;
    } else {
        write_stdout(&render(&report))?;
    }
    match report.first_failure() {
        None => Ok(()),
        Some(failed) => Err(CliError::new(
            Code::Exact(report.exit_code()),
            format!(
                "doctor: step {} ({}) failed, exit code {}",
                failed.step.number(),
                failed.step.name(),
                failed.step.exit_code()
            ),
        )
        .into()),
    }
}

/// `doctor --help`: every step with its exit code, from the one list in `proto`.
pub fn long_help() -> String {
    let mut help = String::from(
        "Check every step from the daemon to a scoped token; say how to fix the first \
         failure.\n\nThe steps run in this order and stop at the first failure; the exit code \
         names it:\n\n",
    );
    for step in STEPS {
        let _ = writeln!(
            help,
            "  {} {:<10}  {}",
            step.exit_code(),
            step.name(),
            step.summary()
        );
    }
    help.push_str(
        "\n0: every step passed. 2: bad flags. A warning (such as a proxy in this shell that the \
         daemon does not use) does not change the exit code.",
    );
    help
}

/// The daemon's report with the daemon step first; a daemon that answers the connection but
/// not the two requests fails that step too.
async fn ask(daemon: &mut Daemon, request: &DoctorRequest, shell_proxy: &[EnvVar]) -> DoctorReport {
    let status = match daemon.get::<Status>(routes::STATUS).await {
        Ok(status) => status,
        Err(err) => return without_daemon(&as_cli_error(err)),
    };
    let mut report = match daemon.post::<DoctorReport>(routes::DOCTOR, request).await {
        Ok(report) => report,
        Err(err) => return without_daemon(&as_cli_error(err)),
    };
    let answers = format!(
        "opcp-credd {} (API v{}), pid {}, answers",
        status.daemon_version, status.api_version, status.pid
    );
    report
        .steps
        .insert(0, DoctorStep::ok(Step::Daemon, answers));
    report
        .warnings
        .extend(mismatch_advice(API_VERSION, status.api_version));
    report.warnings.extend(proxy_warning(shell_proxy, &report));
    report
}

fn as_cli_error(err: anyhow::Error) -> CliError {
    match err.downcast::<CliError>() {
        Ok(err) => err,
        Err(other) => CliError::new(Code::Failure, format!("{other:#}")),
    }
}

/// The daemon step failed: nothing else could be checked.
fn without_daemon(err: &CliError) -> DoctorReport {
    let kind = match err.code {
        Code::Daemon(kind) => Some(kind),
        _ => None,
    };
    let mut steps = vec![DoctorStep::failed(
        Step::Daemon,
        kind,
        err.message.clone(),
        err.hint.clone(),
    )];
    steps.extend(
        STEPS
            .iter()
            .filter(|step| **step != Step::Daemon)
            .map(|step| DoctorStep::not_checked(*step)),
    );
    DoctorReport {
        steps,
        ..DoctorReport::default()
    }
}

/// The shell has a proxy that the daemon does not use: it connects directly, which fails where
/// only the proxy gets out. Typical of a daemon started by systemd, which does not see the
/// variables of the shell.
fn proxy_warning(shell: &[EnvVar], report: &DoctorReport) -> Option<String> {
    let set = shell.iter().find(|var| is_proxy_var(&var.name))?;
    let daemon_has_one = report
        .daemon_proxy_env
        .iter()
        .any(|var| is_proxy_var(&var.name));
    if daemon_has_one || report.profile_proxy.is_some() {
        return None;
    }
    let profile = report.profile.as_deref().unwrap_or("NAME");
    Some(format!(
        "this shell sets {}={} but opcp-credd has no proxy: a daemon started by systemd does not \
         see the shell's variables, so it connects directly. Set the profile's proxy (`proxy = \
         \"URL\"` in config.toml, or `opcp-cred login --profile {profile} --proxy URL` for one \
         without credentials), or give the daemon the variable: \
         `systemctl --user import-environment {}` then `systemctl --user restart opcp-credd`",
        set.name, set.value, set.name
    ))
}

/// Which proxy the daemon's requests for the profile use, as far as the report tells.
fn proxy_line(report: &DoctorReport) -> Option<String> {
    if let Some(proxy) = &report.profile_proxy {
        return Some(format!("the profile's proxy {proxy}"));
    }
    report.profile.as_ref()?;
    if report.daemon_proxy_env.is_empty() {
        return Some("none: the daemon connects directly".to_owned());
    }
    let vars: Vec<String> = report
        .daemon_proxy_env
        .iter()
        .map(|var| format!("{}={}", var.name, var.value))
        .collect();
    Some(format!("from the daemon's environment: {}", vars.join(" ")))
}

fn render(report: &DoctorReport) -> String {
    let mut out = String::new();
    if let Some(profile) = &report.profile {
        let _ = writeln!(out, "profile {}", printable(profile));
    }
    for step in &report.steps {
        let mark = match step.state {
            StepState::Ok => "✓",
            StepState::Failed => "✗",
            _ => "·",
        };
        let detail = match step.state {
            StepState::NotChecked => "not checked".to_owned(),
            _ => printable(&step.detail),
        };
        let _ = writeln!(
            out,
            "{mark} {:>2} {:<10}  {detail}",
            step.step.number(),
            step.step.name()
        );
        if let Some(fix) = step
            .fix
            .as_deref()
            .filter(|_| step.state == StepState::Failed)
        {
            let _ = writeln!(out, "{:17}fix: {}", "", printable(fix));
        }
    }
    if let Some(proxy) = proxy_line(report) {
        let _ = writeln!(out, "proxy: {}", printable(&proxy));
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {}", printable(warning));
    }
    out
}

#[cfg(test)]
mod tests;
