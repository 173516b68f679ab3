//! `config.toml`: the profiles, the default profile and the keyring choice. No secrets.
//!
//! - [`parse`] turns text into a validated [`Config`]; every error names the file, the line
//!   and the key (`parse.rs`).
//! - [`ConfigFile`] is the file on disk: it re-reads it when it changes (hand edits need no
//!   restart), keeps the last good config when an edit is broken, and is the only writer,
//!   editing with `toml_edit` so comments and layout survive (`file.rs`, `edit.rs`). A
//!   directory watch (`watch.rs`) tells it when to look again, so requests make no `stat`.
//!
//! ```toml
//! default_profile = "pod"          # optional
//! keyring = "auto"                 # auto | secret-service | keyutils
//! [profiles.pod]
//! auth_url = "https://keystone.example.test"
//! # … the fields of `opcp_cred_proto::messages::ProfileConfig`
//! ```

mod edit;
mod error;
mod file;
mod parse;
mod watch;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use opcp_cred_proto::messages::ProfileConfig;
use serde::Deserialize;

pub use error::ConfigError;
pub use file::ConfigFile;

/// Names the config file instead of `$XDG_CONFIG_HOME/opcp-cred/config.toml`.
pub const CONFIG_ENV: &str = "OPCP_CRED_CONFIG";

/// Which OS keyring holds the secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyringChoice {
    /// Secret Service when it is reachable and unlocked, else keyutils.
    #[default]
    Auto,
    #[serde(alias = "secret_service")]
    SecretService,
    Keyutils,
}

impl KeyringChoice {
    /// The spelling used in `config.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::SecretService => "secret-service",
            Self::Keyutils => "keyutils",
        }
    }
}

/// The whole file, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Always names an entry of `profiles` (checked on parse).
    #[serde(default)]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub keyring: KeyringChoice,
    /// Keys are valid profile names (checked on parse).
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileConfig>,
}

/// `$OPCP_CRED_CONFIG`, else `$XDG_CONFIG_HOME/opcp-cred/config.toml` (`~/.config/…`).
pub fn default_path() -> PathBuf {
    let config_home = directories::BaseDirs::new().map(|dirs| dirs.config_dir().to_owned());
    resolve_path(std::env::var_os(CONFIG_ENV), config_home)
        .expect("cannot find the home directory: set HOME or OPCP_CRED_CONFIG")
}

/// The decision of [`default_path`], apart from the environment.
fn resolve_path(explicit: Option<OsString>, config_home: Option<PathBuf>) -> Option<PathBuf> {
    match explicit.filter(|path| !path.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => config_home.map(|home| home.join("opcp-cred").join("config.toml")),
    }
}

/// Parse and validate the text of `path` (named in errors only).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    parse::parse(text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins_and_empty_is_ignored() {
        let home = Some(PathBuf::from("/home/u/.config"));
        assert_eq!(
            resolve_path(Some("/tmp/x.toml".into()), home.clone()),
            Some(PathBuf::from("/tmp/x.toml"))
        );
        assert_eq!(
            resolve_path(Some(OsString::new()), home),
            Some(PathBuf::from("/home/u/.config/opcp-cred/config.toml"))
        );
        assert_eq!(resolve_path(None, None), None);
    }

    /// `default_path` as seen by this test binary run again with only `vars` in its environment.
    fn default_path_with(vars: &[(&str, &str)]) -> String {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "config::tests::print_default_path",
                "--ignored",
                "--nocapture",
            ])
            .env_clear()
            .envs(vars.iter().copied())
            .env("OPCP_CRED_TEST_PRINT_PATH", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let line = stdout
            .lines()
            .find_map(|line| line.strip_prefix("default_path="));
        line.unwrap_or_else(|| panic!("no path in: {stdout}"))
            .to_owned()
    }

    #[test]
    fn default_path_follows_the_environment() {
        let home = ("HOME", "/home/u");
        assert_eq!(
            default_path_with(&[home]),
            "/home/u/.config/opcp-cred/config.toml"
        );
        assert_eq!(
            default_path_with(&[home, ("XDG_CONFIG_HOME", "/xdg")]),
            "/xdg/opcp-cred/config.toml"
        );
        assert_eq!(
            default_path_with(&[home, (CONFIG_ENV, "/etc/x.toml")]),
            "/etc/x.toml"
        );
    }

    #[test]
    #[ignore = "helper of default_path_follows_the_environment"]
    fn print_default_path() {
        if std::env::var_os("OPCP_CRED_TEST_PRINT_PATH").is_some() {
            println!("default_path={}", default_path().display());
        }
    }

    #[test]
    fn keyring_choice_spellings() {
        for (text, choice) in [
            ("auto", KeyringChoice::Auto),
            ("secret-service", KeyringChoice::SecretService),
            ("secret_service", KeyringChoice::SecretService),
            ("keyutils", KeyringChoice::Keyutils),
        ] {
            let config = parse(&format!("keyring = \"{text}\""), Path::new("c.toml")).unwrap();
            assert_eq!(config.keyring, choice);
        }
        assert_eq!(KeyringChoice::SecretService.as_str(), "secret-service");
        assert_eq!(Config::default().keyring, KeyringChoice::Auto);
    }
}
