//! Durations on the command line (`--min-valid 45m`) and in human output ("in 42m").

use std::time::Duration;

/// Parse a duration like `45m`, `2h`, `90s` or `1h 30m` (humantime syntax); for clap.
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}): write it like 45m, 2h or 90s"))
}

/// A short, rounded-down rendering for people: `42s`, `59m`, `2h 5m`, `3d 4h`.
pub fn short(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, mins) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (days, secs) {
        (0, 0..60) => format!("{secs}s"),
        (0, 60..3600) => format!("{mins}m"),
        (0, _) if mins == 0 => format!("{hours}h"),
        (0, _) => format!("{hours}h {mins}m"),
        _ if hours == 0 => format!("{days}d"),
        _ => format!("{days}d {hours}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("45m"), Ok(Duration::from_secs(45 * 60)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 5min "), Ok(Duration::from_secs(300)));
    }

    #[test]
    fn rejects_bare_numbers_and_words_with_an_example() {
        for bad in ["45", "soon", "", "-5m"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("45m, 2h or 90s"), "{err}");
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn short_rounds_down_to_the_largest_units() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h"),
            (3600 + 5 * 60 + 59, "1h 5m"),
            (86_399, "23h 59m"),
            (86_400, "1d"),
            (3 * 86_400 + 4 * 3600 + 59, "3d 4h"),
        ];
        for (secs, want) in cases {
            assert_eq!(short(Duration::from_secs(secs)), want, "{secs}s");
        }
    }
}
