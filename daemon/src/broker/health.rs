//! A profile's health: last success, last error, and the backoff after upstream failures.
//!
//! After Keycloak or Keystone was unreachable (or TLS or discovery failed), the profile waits
//! before the next upstream attempt: 1 s, 2 s, 4 s … up to a minute, each scaled by a jitter in
//! [½, 1] so that many daemons do not retry in step. Within that window a request that the
//! cache cannot serve gets the last error at once, and the background refresh waits too:
//! an outage costs Keycloak a handful of attempts a minute, and no shell ever hangs.
//! Rejections (wrong client, unknown project) are not outages and are not backed off; a
//! rejected password is handled harder still: `needs_login` stops all attempts.

use std::time::{Duration, SystemTime};

use opcp_cred_proto::ErrorKind;
use opcp_cred_proto::error::ErrorDetail;
use opcp_cred_proto::messages::Timestamp;

use crate::clock::BootInstant;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct Health {
    pub last_success: Option<Timestamp>,
    pub last_error: Option<ErrorDetail>,
    /// Keycloak rejected the stored password: no login is attempted until new credentials.
    pub needs_login: bool,
    /// Upstream failures in a row.
    failures: u32,
    /// No upstream attempt before this.
    next_attempt: Option<BootInstant>,
}

impl Health {
    pub fn succeeded(&mut self) {
        self.last_success = Some(Timestamp::now());
        self.last_error = None;
        self.failures = 0;
        self.next_attempt = None;
    }

    pub fn failed(&mut self, error: ErrorDetail, now: BootInstant) {
        // A request the caller got wrong (an impossible --min-valid) says nothing about the
        // profile's health.
        if error.kind == ErrorKind::BadRequest {
            return;
        }
        if is_outage(error.kind) {
            self.failures = self.failures.saturating_add(1);
            self.next_attempt = Some(now + backoff(self.failures, now));
        }
        self.last_error = Some(error);
    }

    /// The error to answer with instead of trying upstream, while backing off.
    pub fn backing_off(&self, now: BootInstant) -> Option<&ErrorDetail> {
        match self.next_attempt {
            Some(next) if now < next => self.last_error.as_ref(),
            _ => None,
        }
    }

    pub fn next_attempt(&self) -> Option<BootInstant> {
        self.next_attempt
    }

    /// The next attempt on the wall clock, for `status`.
    pub fn next_attempt_at(&self, now: BootInstant) -> Option<Timestamp> {
        self.next_attempt
            .filter(|next| *next > now)
            .map(|next| Timestamp(SystemTime::now() + next.since(now)))
    }
}

fn is_outage(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::UpstreamUnavailable
            | ErrorKind::DiscoveryFailed
            | ErrorKind::Tls
            | ErrorKind::Internal
    )
}

/// `FIRST_RETRY · 2^(failures-1)`, at most `LONGEST_RETRY`, times a jitter in [½, 1] taken
/// from the clock's low bits (good enough to spread retries; nothing secret depends on it).
fn backoff(failures: u32, now: BootInstant) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let full = FIRST_RETRY.saturating_mul(1 << exponent).min(LONGEST_RETRY);
    let noise = f64::from(now.since(BootInstant::zero()).subsec_nanos() % 1000) / 1000.0;
    full.mul_f64(0.5 + noise / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outage() -> ErrorDetail {
        ErrorDetail {
            kind: ErrorKind::UpstreamUnavailable,
            message: "keycloak did not answer".into(),
            hint: None,
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_minute_with_jitter() {
        let now = BootInstant::now();
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
            let wait = backoff(failures, now);
            let full = Duration::from_secs(full);
            assert!(wait <= full && wait >= full / 2, "{failures}: {wait:?}");
        }
    }

    #[test]
    fn an_outage_backs_off_and_a_success_clears_it() {
        let now = BootInstant::now();
        let mut health = Health::default();
        health.failed(outage(), now);
        assert_eq!(
            health.backing_off(now).map(|e| e.kind),
            Some(ErrorKind::UpstreamUnavailable)
        );
        assert!(health.backing_off(now + Duration::from_secs(2)).is_none());
        health.succeeded();
        assert!(health.backing_off(now).is_none());
        assert!(health.last_error.is_none());
    }

    #[test]
    fn a_rejection_is_not_backed_off() {
        let now = BootInstant::now();
        let mut health = Health::default();
        let rejection = ErrorDetail {
            kind: ErrorKind::ProjectForbidden,
            message: "not authorised on project x".into(),
            hint: None,
        };
        health.failed(rejection, now);
        assert!(health.backing_off(now).is_none());
        assert!(health.last_error.is_some());
    }
}
