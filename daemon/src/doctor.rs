//! `opcp-cred doctor`, the daemon's share: the pieces the checks are recorded with.
//!
//! The checks themselves run in the broker (`broker/diagnose.rs`), on the profile's live
//! state, with the same oidc, keystone and store code a token request uses. This module holds
//! what they report into: the [`Checklist`] of steps (stopping at the first failure), the
//! clock comparison against the servers' `Date`, and the daemon's proxy environment.

use std::time::{Duration, SystemTime};

use opcp_cred_proto::ErrorKind;
use opcp_cred_proto::doctor::{DoctorStep, EnvVar, STEPS, Step, StepState};

use crate::broker::DEFAULT_MIN_VALID;
use crate::error::Failure;
use crate::http::{self, Answer};

/// How far the host's clock may be from the servers' before `doctor` fails the clock step.
///
/// The daemon itself does not care: it measures token lifetimes against the servers' own
/// `Date` on the boot-time clock. The programs that use a token do: keystoneauth and scripts
/// compare Keystone's `expires_at` with this host's clock, and a token is only promised
/// [`DEFAULT_MIN_VALID`] (5 minutes) of life when served. A host clock further ahead than that
/// makes a freshly served token look expired to them; one as far behind makes a token that
/// Keystone already refuses look valid, so nothing refreshes it. TLS certificate dates are
/// judged by this clock too. Second-precision `Date` headers and request latency add at most
/// a second or two to the measurement.
pub const CLOCK_TOLERANCE: Duration = DEFAULT_MIN_VALID;

/// The steps of one doctor run, in order; once one fails, nothing more is recorded.
#[derive(Debug, Default)]
pub struct Checklist {
    steps: Vec<DoctorStep>,
}

impl Checklist {
    /// Whether a step has failed (the others are not tried).
    pub fn has_failed(&self) -> bool {
        self.steps
            .iter()
            .any(|step| step.state == StepState::Failed)
    }

    pub fn pass(&mut self, step: Step, detail: impl Into<String>) {
        if !self.has_failed() {
            self.steps.push(DoctorStep::ok(step, detail));
        }
    }

    pub fn fail(&mut self, step: Step, failure: impl Into<Failure>) {
        if !self.has_failed() {
            let Failure(error) = failure.into();
            self.steps.push(DoctorStep::failed(
                step,
                Some(error.kind),
                error.message,
                error.hint,
            ));
        }
    }

    /// Records `result` as the outcome of `step` (`detail` words a success) and hands the
    /// value on when it passed.
    pub fn record<T, E: Into<Failure>>(
        &mut self,
        step: Step,
        result: Result<T, E>,
        detail: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                self.pass(step, detail(&value));
                Some(value)
            }
            Err(err) => {
                self.fail(step, err);
                None
            }
        }
    }

    /// The recorded steps, then every later one of the daemon's as not checked.
    pub fn finish(mut self) -> Vec<DoctorStep> {
        let done = self.steps.last().map_or(0, |step| step.step.number());
        let rest = STEPS
            .iter()
            .filter(|step| **step != Step::Daemon && step.number() > done);
        self.steps
            .extend(rest.map(|step| DoctorStep::not_checked(*step)));
        self.steps
    }
}

/// How far one server's clock is from the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub upstream: &'static str,
    /// Server minus host, in seconds: positive when the host is behind.
    pub offset_secs: i64,
}

impl ClockReading {
    /// From an answer's `Date`, against the host's clock when it arrived.
    pub fn of(upstream: &'static str, answer: &Answer, received: SystemTime) -> Option<Self> {
        let server = http::server_date(&answer.headers)?;
        Some(Self {
            upstream,
            offset_secs: offset_secs(server, received),
        })
    }
}

/// `server_date - received`, to the nearest second. `Date` drops the fraction of its second,
/// so the server's time was half a second later on average.
fn offset_secs(server_date: SystemTime, received: SystemTime) -> i64 {
    let server = server_date + Duration::from_millis(500);
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let signed = match server.duration_since(received) {
        Ok(ahead) => millis(ahead),
        Err(behind) => -millis(behind.duration()),
    };
    (signed + signed.signum() * 500) / 1000
}

/// The clock step: the worst reading against [`CLOCK_TOLERANCE`].
pub fn check_clock(readings: &[ClockReading]) -> Result<String, Failure> {
    let Some(worst) = readings.iter().max_by_key(|r| r.offset_secs.unsigned_abs()) else {
        return Ok("not measured: neither server sent a `Date` header".to_owned());
    };
    let off = Duration::from_secs(worst.offset_secs.unsigned_abs());
    let words = humantime::format_duration(off);
    let side = if worst.offset_secs > 0 {
        "behind"
    } else {
        "ahead of"
    };
    if off <= CLOCK_TOLERANCE {
        let all: Vec<String> = readings
            .iter()
            .map(|r| format!("{} {:+} s", r.upstream, r.offset_secs))
            .collect();
        return Ok(format!(
            "this host's clock agrees with the servers' within {} ({})",
            humantime::format_duration(CLOCK_TOLERANCE),
            all.join(", ")
        ));
    }
    Err(Failure::new(
        ErrorKind::ClockSkew,
        format!(
            "this host's clock is {words} {side} {}'s (more than {})",
            worst.upstream,
            humantime::format_duration(CLOCK_TOLERANCE)
        ),
        Some(
            "synchronise the clock (`timedatectl set-ntp true`, or chrony/ntpd): tools that use \
             the token judge its expiry by this host's clock"
                .to_owned(),
        ),
    ))
}

/// The proxy variables of the daemon's own environment (what its HTTP clients use when a
/// profile sets no `proxy`), credentials masked.
pub fn proxy_environment() -> Vec<EnvVar> {
    opcp_cred_proto::doctor::proxy_env(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(upstream: &'static str, offset_secs: i64) -> ClockReading {
        ClockReading {
            upstream,
            offset_secs,
        }
    }

    #[test]
    fn the_checklist_stops_at_the_first_failure_and_lists_the_rest() {
        let mut checks = Checklist::default();
        checks.pass(Step::Config, "fine");
        let secret = checks.record(Step::Keyring, Ok::<_, Failure>(7), |n| format!("n={n}"));
        assert_eq!(secret, Some(7));
        let failure = Failure::new(ErrorKind::LoginRequired, "missing", Some("login".into()));
        assert_eq!(
            checks.record::<(), _>(Step::Secrets, Err(failure), |()| String::new()),
            None
        );
        checks.pass(Step::Discovery, "never recorded");
        assert!(checks.has_failed());
        let steps = checks.finish();
        let states: Vec<(Step, StepState)> = steps.iter().map(|s| (s.step, s.state)).collect();
        assert_eq!(
            states[..4],
            [
                (Step::Config, StepState::Ok),
                (Step::Keyring, StepState::Ok),
                (Step::Secrets, StepState::Failed),
                (Step::Discovery, StepState::NotChecked),
            ]
        );
        assert_eq!(steps.len(), 9, "every step but the client's daemon step");
        assert_eq!(steps[1].detail, "n=7");
        assert_eq!(steps[2].fix.as_deref(), Some("login"));
        assert_eq!(steps[2].kind, Some(ErrorKind::LoginRequired));
    }

    #[test]
    fn an_empty_checklist_lists_every_daemon_step() {
        let steps = Checklist::default().finish();
        assert_eq!(steps.first().map(|s| s.step), Some(Step::Config));
        assert!(steps.iter().all(|s| s.state == StepState::NotChecked));
    }

    #[test]
    fn the_clock_passes_within_the_tolerance_and_names_the_worst_server() {
        let ok = check_clock(&[reading("keycloak", 2), reading("keystone", -300)]).unwrap();
        assert!(ok.contains("keycloak +2 s, keystone -300 s"), "{ok}");
        let err = check_clock(&[reading("keycloak", 1), reading("keystone", 601)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ClockSkew);
        assert_eq!(
            err.0.message,
            "this host's clock is 10m 1s behind keystone's (more than 5m)"
        );
        assert!(err.0.hint.unwrap().contains("timedatectl set-ntp true"));
        let ahead = check_clock(&[reading("keycloak", -3600)]).unwrap_err();
        assert!(
            ahead.0.message.contains("1h ahead of keycloak's"),
            "{}",
            ahead.0.message
        );
        assert!(check_clock(&[]).unwrap().starts_with("not measured"));
    }

    #[test]
    fn the_documented_tolerance_is_the_one_applied() {
        let minutes = CLOCK_TOLERANCE.as_secs() / 60;
        let summary = Step::Clock.summary();
        assert!(
            summary.contains(&format!("within {minutes} minutes")),
            "{summary}"
        );
    }

    #[test]
    fn offsets_allow_for_the_truncated_second_and_round() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let ms = Duration::from_millis;
        // The server said 1600 when it was 1600.x; received at 1000.3: 600 s.
        assert_eq!(offset_secs(t + ms(600_000), t + ms(300)), 600);
        assert_eq!(offset_secs(t, t + ms(90_400)), -90);
        assert_eq!(offset_secs(t, t + ms(400)), 0);
    }
}
