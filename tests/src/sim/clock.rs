//! The simulator's idea of "now", and the two timestamp formats the real servers print.
//!
//! Every `exp`, `iat`, `expires_at`, `issued_at` and `Date` header comes from [`Clock::now`],
//! so a test can move the whole cloud into the future with one offset instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time shifted by an offset a test can change at run time.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Seconds since the Unix epoch, offset included.
    pub(crate) fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the system clock is after 1970");
        i64::try_from(wall.as_secs()).expect("seconds since 1970 fit in i64")
            + self.offset_secs.load(Ordering::Relaxed)
    }

    pub(crate) fn set_offset(&self, offset_secs: i64) {
        self.offset_secs.store(offset_secs, Ordering::Relaxed);
    }
}

/// Keystone's timestamp format: `2026-12-03T18:07:04.000000Z` (Fernet tokens keep whole
/// seconds, so the microseconds are always zero).
pub(crate) fn iso8601(unix: i64) -> String {
    let (date, (hour, minute, second)) = split(unix);
    let (year, month, day) = date;
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.000000Z")
}

/// The HTTP `Date` header format (RFC 9110 IMF-fixdate): `Thu, 03 Dec 2026 18:07:04 GMT`.
pub(crate) fn http_date(unix: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ((year, month, day), (hour, minute, second)) = split(unix);
    // 1970-01-01 was a Thursday, hence the table starting at "Thu".
    let weekday = WEEKDAYS[usize::try_from(unix.div_euclid(86_400).rem_euclid(7)).expect("0..7")];
    let month = MONTHS[usize::try_from(month - 1).expect("month is 1..=12")];
    format!("{weekday}, {day:02} {month} {year:04} {hour:02}:{minute:02}:{second:02} GMT")
}

type Date = (i64, i64, i64);
type TimeOfDay = (i64, i64, i64);

fn split(unix: i64) -> (Date, TimeOfDay) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    (
        civil_from_days(days),
        (secs / 3600, secs % 3600 / 60, secs % 60),
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day) in the
/// proleptic Gregorian calendar, without a date crate.
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{Clock, http_date, iso8601};

    #[test]
    fn formats_like_keystone() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso8601(1_796_321_224), "2026-12-03T18:07:04.000000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn formats_http_dates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(1_796_321_224), "Thu, 03 Dec 2026 18:07:04 GMT");
    }

    #[test]
    fn offset_moves_now() {
        let clock = Clock::default();
        let before = clock.now();
        clock.set_offset(3600);
        assert!(clock.now() >= before + 3600);
    }
}
