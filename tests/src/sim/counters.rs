//! How many requests of each kind the simulator answered.
//!
//! A request is counted when its handler runs, so one stopped by a `Status` or `Drop` fault
//! is not: the counters say what the "real" server saw.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// `GET …/.well-known/openid-configuration`.
    pub discovery: u64,
    /// `GET …/protocol/openid-connect/certs`.
    pub jwks: u64,
    /// Password grants that returned tokens.
    pub password_grant_ok: u64,
    /// Password grants that were refused (bad client, bad password, required actions…).
    pub password_grant_failed: u64,
    /// Refresh-token grants, successful or not.
    pub refresh_grant: u64,
    /// Keystone `OS-FEDERATION/…/auth` requests, successful or not.
    pub federation_auth: u64,
    /// `POST /v3/auth/tokens` (scoping or rescoping), successful or not.
    pub scope: u64,
    /// `GET` and `HEAD /v3/auth/tokens`.
    pub validate: u64,
    /// `DELETE /v3/auth/tokens`.
    pub revoke: u64,
    /// `GET /v3/auth/projects`.
    pub projects: u64,
    /// Keystone version documents (`/` and `/v3`).
    pub version_docs: u64,
    /// Requests that met a `Status` or `Drop` fault instead of their handler: what an
    /// outage costs the server, so tests can see a client's backoff.
    pub faulted: u64,
    /// Requests held by a `Delay` fault, counted as the delay starts: a test waits for this
    /// to know a request is in flight.
    pub delayed: u64,
}

/// One counter; the discriminant indexes [`AtomicCounters`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counter {
    Discovery,
    Jwks,
    PasswordGrantOk,
    PasswordGrantFailed,
    RefreshGrant,
    FederationAuth,
    Scope,
    Validate,
    Revoke,
    Projects,
    VersionDocs,
    Faulted,
    Delayed,
}

const COUNT: usize = Counter::Delayed as usize + 1;

#[derive(Debug, Default)]
pub(crate) struct AtomicCounters([AtomicU64; COUNT]);

impl AtomicCounters {
    pub(crate) fn bump(&self, counter: Counter) {
        self.0[counter as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self) {
        for counter in &self.0 {
            counter.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let get = |counter: Counter| self.0[counter as usize].load(Ordering::Relaxed);
        Counters {
            discovery: get(Counter::Discovery),
            jwks: get(Counter::Jwks),
            password_grant_ok: get(Counter::PasswordGrantOk),
            password_grant_failed: get(Counter::PasswordGrantFailed),
            refresh_grant: get(Counter::RefreshGrant),
            federation_auth: get(Counter::FederationAuth),
            scope: get(Counter::Scope),
            validate: get(Counter::Validate),
            revoke: get(Counter::Revoke),
            projects: get(Counter::Projects),
            version_docs: get(Counter::VersionDocs),
            faulted: get(Counter::Faulted),
            delayed: get(Counter::Delayed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AtomicCounters, Counter, Counters};

    #[test]
    fn bump_snapshot_reset() {
        let counters = AtomicCounters::default();
        counters.bump(Counter::Scope);
        counters.bump(Counter::Scope);
        counters.bump(Counter::VersionDocs);
        let snap = counters.snapshot();
        assert_eq!(
            snap,
            Counters {
                scope: 2,
                version_docs: 1,
                ..Counters::default()
            }
        );
        counters.reset();
        assert_eq!(counters.snapshot(), Counters::default());
    }
}
