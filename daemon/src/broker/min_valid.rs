//! How long a served token must stay valid.

use std::time::Duration;

/// Without `--min-valid`, a token must have 5 minutes left, or a quarter of its lifetime on
/// clouds whose tokens live less than 20 minutes (it is refreshed at three quarters anyway):
/// a default must never make every call a login, nor fail on a short-lived cloud.
pub const DEFAULT_MIN_VALID: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MinValid {
    Default,
    /// Asked for: a token that cannot live this long is an error naming the cloud's maximum.
    Explicit(Duration),
}

impl MinValid {
    pub fn from_request(secs: Option<u64>) -> Self {
        secs.map_or(Self::Default, |secs| {
            Self::Explicit(Duration::from_secs(secs))
        })
    }

    /// What a token of this total `lifetime` must have left.
    pub fn required(self, lifetime: Duration) -> Duration {
        match self {
            Self::Default => DEFAULT_MIN_VALID.min(lifetime / 4),
            Self::Explicit(wanted) => wanted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_shrinks_on_short_lived_clouds_only() {
        let hour = Duration::from_secs(3600);
        assert_eq!(MinValid::Default.required(hour), DEFAULT_MIN_VALID);
        assert_eq!(
            MinValid::Default.required(Duration::from_secs(60)),
            Duration::from_secs(15)
        );
        assert_eq!(
            MinValid::from_request(Some(7200)).required(hour),
            Duration::from_secs(7200)
        );
    }
}
