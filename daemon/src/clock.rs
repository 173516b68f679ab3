//! The clock token lifetimes are measured on.
//!
//! A token's expiry is judged by how long ago it was received, on the boot-time clock
//! (`CLOCK_BOOTTIME`), against the lifetime the server gave it (its `expires_at` minus the
//! server's own `Date`). That clock keeps counting through suspend, unlike `Instant`
//! (`CLOCK_MONOTONIC`), so a laptop that slept past a token's expiry never serves it; and it
//! ignores wall-clock jumps and skew, so a host whose clock is ten minutes off still refreshes
//! in time.

use std::time::{Duration, SystemTime};

use rustix::time::{ClockId, clock_gettime};

/// The longest lifetime believed. Keystone and Keycloak issue tokens for minutes, hours or a
/// few days; a server that claims more is wrong, and the cap keeps every sum far from
/// overflowing and every token refreshed at least once a year. Every [`Lifetime`] is capped
/// when made, and so are Keycloak's lifetimes when read.
pub const MAX_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);

/// A point on the boot-time clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BootInstant(Duration);

impl BootInstant {
    pub fn now() -> Self {
        let ts = clock_gettime(ClockId::Boottime);
        let secs = u64::try_from(ts.tv_sec).expect("the boot-time clock is never negative");
        let nanos = u32::try_from(ts.tv_nsec).expect("nanoseconds fit in u32");
        Self(Duration::new(secs, nanos))
    }

    /// The clock's origin (boot), for arithmetic on readings.
    pub fn zero() -> Self {
        Self(Duration::ZERO)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Self) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::ops::Add<Duration> for BootInstant {
    type Output = Self;

    fn add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(duration))
    }
}

/// How long a token lives, as the server counts: its `expires_at` minus the server's `Date`
/// when it was issued (the host's own clock when the server sent no usable `Date`).
pub fn server_lifetime(expires_at: SystemTime, server_now: Option<SystemTime>) -> Duration {
    let now = server_now.unwrap_or_else(SystemTime::now);
    expires_at.duration_since(now).unwrap_or_default()
}

/// A lifetime that started at `received`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub received: BootInstant,
    pub length: Duration,
}

impl Lifetime {
    pub fn starting_now(length: Duration) -> Self {
        Self {
            received: BootInstant::now(),
            length: length.min(MAX_LIFETIME),
        }
    }

    /// Time left at `now`.
    pub fn remaining(&self, now: BootInstant) -> Duration {
        self.length.saturating_sub(now.since(self.received))
    }

    /// The point at which `fraction` of the lifetime has passed.
    pub fn point(&self, fraction: f64) -> BootInstant {
        self.received + self.length.mul_f64(fraction.clamp(0.0, 1.0))
    }

    /// The expiry on the host's wall clock, for people and scripts (`OPCP_CRED_EXPIRES_AT`).
    pub fn local_expiry(&self) -> SystemTime {
        SystemTime::now() + self.remaining(BootInstant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_counts_from_receipt() {
        let start = BootInstant(Duration::from_secs(100));
        let life = Lifetime {
            received: start,
            length: Duration::from_secs(60),
        };
        assert_eq!(life.remaining(start), Duration::from_secs(60));
        assert_eq!(
            life.remaining(start + Duration::from_secs(45)),
            Duration::from_secs(15)
        );
        assert_eq!(
            life.remaining(start + Duration::from_secs(90)),
            Duration::ZERO
        );
        assert_eq!(life.point(0.75), start + Duration::from_secs(45));
    }

    #[test]
    fn server_lifetime_uses_the_server_clock() {
        let server_now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let expires = server_now + Duration::from_secs(3600);
        // The host's clock is irrelevant when the server said what time it was.
        assert_eq!(
            server_lifetime(expires, Some(server_now)),
            Duration::from_secs(3600)
        );
        assert_eq!(server_lifetime(server_now, Some(expires)), Duration::ZERO);
        let year_9999 = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
        let believed = Lifetime::starting_now(server_lifetime(year_9999, Some(server_now)));
        assert_eq!(believed.length, MAX_LIFETIME);
        let now = BootInstant::now();
        assert!(now + Duration::MAX >= now, "saturates, never panics");
    }

    #[test]
    fn the_boot_clock_moves_forward() {
        let a = BootInstant::now();
        let b = BootInstant::now();
        assert!(b >= a);
    }
}
