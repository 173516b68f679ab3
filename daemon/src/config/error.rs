//! What can be wrong with `config.toml`, said so that a person finds the spot to fix.

use std::io;
use std::path::PathBuf;

use opcp_cred_proto::ErrorKind;

use crate::error::Actionable;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not a valid config: syntax, an unknown key, a wrong type or a bad value.
    #[error("{} line {line}{}: {problem}", file.display(), key_part(key.as_deref()))]
    Invalid {
        file: PathBuf,
        /// 1-based.
        line: usize,
        /// Dotted path, e.g. `profiles.pod.auth_url`; `None` when the text cannot be tied to one.
        key: Option<String>,
        problem: String,
    },
    /// The file or its directory could not be read or written.
    #[error("cannot {action} {}: {source}", file.display())]
    Io {
        file: PathBuf,
        action: &'static str,
        source: io::Error,
    },
}

fn key_part(key: Option<&str>) -> String {
    key.map(|key| format!(", key `{key}`")).unwrap_or_default()
}

impl ConfigError {
    pub(crate) fn io(file: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        Self::Io {
            file: file.into(),
            action,
            source,
        }
    }

    /// The file the error is about.
    pub fn file(&self) -> &std::path::Path {
        match self {
            Self::Invalid { file, .. } | Self::Io { file, .. } => file,
        }
    }
}

impl Actionable for ConfigError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::ConfigInvalid
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Invalid { file, .. } => format!(
                "fix {}; the daemon picks up the edit without a restart",
                file.display()
            ),
            Self::Io { file, .. } => format!(
                "check that {} and its directory belong to you and are writable",
                file.display()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_file_line_and_key() {
        let err = ConfigError::Invalid {
            file: "/home/u/.config/opcp-cred/config.toml".into(),
            line: 7,
            key: Some("profiles.pod.auth_url".into()),
            problem: "auth_url `x` is not a valid URL".into(),
        };
        assert_eq!(
            err.to_string(),
            "/home/u/.config/opcp-cred/config.toml line 7, key `profiles.pod.auth_url`: auth_url `x` is not a valid URL"
        );
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(
            err.hint()
                .unwrap()
                .contains("/home/u/.config/opcp-cred/config.toml")
        );
    }
}
