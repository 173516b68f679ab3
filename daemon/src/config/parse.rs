//! Text to a validated [`Config`]. Pure: no I/O, the path only names the file in errors.
//!
//! The text is parsed once into toml's spanned tree. serde turns the tree into [`Config`]
//! (unknown keys and wrong types are caught there, by `deny_unknown_fields`); then the values
//! are checked. Errors carry byte spans: the tree turns them into a line and a dotted key.

use std::ops::Range;
use std::path::Path;

use opcp_cred_proto::doctor::mask_credentials;
use opcp_cred_proto::messages::{ProfileConfig, REFRESH_AT_RANGE, valid_profile_name};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue, Deserializer};
use url::Url;

use super::{Config, ConfigError};
use crate::auth_url::AuthUrl;

pub(super) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let tree = DeTable::parse(text).map_err(|err| toml_error(text, path, None, &err))?;
    let config = Config::deserialize(Deserializer::from(tree.clone()))
        .map_err(|err| toml_error(text, path, Some(tree.get_ref()), &err))?;
    let locator = Locator {
        text,
        path,
        tree: tree.get_ref(),
    };
    validate(&config, &locator)?;
    Ok(config)
}

/// A syntax or serde error, tied to the key its span falls in.
fn toml_error(
    text: &str,
    path: &Path,
    tree: Option<&DeTable<'_>>,
    err: &toml::de::Error,
) -> ConfigError {
    let offset = err.span().map_or(0, |span| span.start);
    let key = tree
        .and_then(|tree| key_at(tree, offset))
        .map(|keys| keys.join("."));
    ConfigError::Invalid {
        file: path.to_owned(),
        line: line_of(text, offset),
        key,
        problem: one_line(err.message()),
    }
}

pub(super) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || span.start == offset
}

/// The innermost key whose key or value span covers `offset`.
fn key_at(table: &DeTable<'_>, offset: usize) -> Option<Vec<String>> {
    for (key, value) in table {
        if let Some(inner) = value.get_ref().as_table()
            && let Some(mut keys) = key_at(inner, offset)
        {
            keys.insert(0, key.get_ref().to_string());
            return Some(keys);
        }
        if covers(&key.span(), offset) || covers(&value.span(), offset) {
            return Some(vec![key.get_ref().to_string()]);
        }
    }
    None
}

/// Builds errors for keys that parsed but hold a bad value.
struct Locator<'a> {
    text: &'a str,
    path: &'a Path,
    tree: &'a DeTable<'a>,
}

impl Locator<'_> {
    fn error(&self, keys: &[&str], problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.path.to_owned(),
            line: self
                .key_span(keys)
                .map_or(1, |span| line_of(self.text, span.start)),
            key: Some(keys.join(".")),
            problem: problem.into(),
        }
    }

    fn key_span(&self, keys: &[&str]) -> Option<Range<usize>> {
        let (last, parents) = keys.split_last()?;
        let mut table = self.tree;
        for name in parents {
            table = find(table, name)?.1.get_ref().as_table()?;
        }
        find(table, last).map(|(key, _)| key.span())
    }
}

type Entry<'t, 'i> = (&'t Spanned<DeString<'i>>, &'t Spanned<DeValue<'i>>);

fn find<'t, 'i>(table: &'t DeTable<'i>, name: &str) -> Option<Entry<'t, 'i>> {
    table.iter().find(|(key, _)| key.get_ref() == name)
}

fn validate(config: &Config, at: &Locator<'_>) -> Result<(), ConfigError> {
    for (name, profile) in &config.profiles {
        validate_profile(name, profile, at)?;
    }
    if let Some(default) = &config.default_profile
        && !config.profiles.contains_key(default)
    {
        return Err(at.error(
            &["default_profile"],
            format!("profile `{default}` is not defined: add [profiles.{default}] or name another profile"),
        ));
    }
    Ok(())
}

fn validate_profile(
    name: &str,
    profile: &ProfileConfig,
    at: &Locator<'_>,
) -> Result<(), ConfigError> {
    let key = |field: &'static str| ["profiles", name, field];
    if !valid_profile_name(name) {
        return Err(at.error(
            &["profiles", name],
            format!(
                "profile name `{name}` is invalid: use up to 64 letters, digits, `-`, `_` or `.`, not starting with `-` or `.`"
            ),
        ));
    }
    if let Some(field) = empty_field(profile) {
        return Err(at.error(
            &key(field),
            format!("{field} is empty: give a value or remove the line"),
        ));
    }
    let auth_url = AuthUrl::parse(&profile.auth_url)
        .map_err(|err| at.error(&key("auth_url"), err.to_string()))?;
    if let Some(warning) = auth_url.warning {
        tracing::warn!(profile = name, "{warning}");
    }
    check_url(
        "discovery_endpoint",
        &profile.discovery_endpoint,
        &["http", "https"],
    )
    .map_err(|problem| at.error(&key("discovery_endpoint"), problem))?;
    if let Some(proxy) = &profile.proxy {
        // The HTTP client is built without SOCKS support: a socks URL would fail every request.
        // The URL is shown with its credentials masked: this message reaches logs and `status`.
        check_url("proxy", proxy, &["http", "https"]).map_err(|problem| {
            at.error(
                &key("proxy"),
                problem.replace(proxy, &mask_credentials(proxy)),
            )
        })?;
    }
    if let Some(percent) = profile.refresh_at
        && !REFRESH_AT_RANGE.contains(&percent)
    {
        return Err(at.error(
            &key("refresh_at"),
            format!(
                "refresh_at = {percent} is out of range: give a percentage of the token lifetime from {} to {}",
                REFRESH_AT_RANGE.start(),
                REFRESH_AT_RANGE.end()
            ),
        ));
    }
    if profile.project_domain_name.is_some() && profile.project_name.is_none() {
        return Err(at.error(
            &key("project_domain_name"),
            "project_domain_name is set without project_name: add project_name or remove project_domain_name",
        ));
    }
    Ok(())
}

/// The first string field that is set but blank.
fn empty_field(profile: &ProfileConfig) -> Option<&'static str> {
    let required = [
        ("auth_url", &profile.auth_url),
        ("identity_provider", &profile.identity_provider),
        ("protocol", &profile.protocol),
        ("discovery_endpoint", &profile.discovery_endpoint),
        ("client_id", &profile.client_id),
        ("username", &profile.username),
    ];
    let optional = [
        ("project_id", &profile.project_id),
        ("project_name", &profile.project_name),
        ("project_domain_name", &profile.project_domain_name),
        ("interface", &profile.interface),
        ("region_name", &profile.region_name),
        ("cacert", &profile.cacert),
        ("proxy", &profile.proxy),
        ("scope", &profile.scope),
    ];
    required
        .into_iter()
        .map(|(field, value)| (field, Some(value)))
        .chain(
            optional
                .into_iter()
                .map(|(field, value)| (field, value.as_ref())),
        )
        .find(|(_, value)| value.is_some_and(|v| v.trim().is_empty()))
        .map(|(field, _)| field)
}

fn check_url(field: &str, given: &str, schemes: &[&str]) -> Result<(), String> {
    let url = Url::parse(given.trim())
        .map_err(|err| format!("{field} `{given}` is not a valid URL: {err}"))?;
    if !schemes.contains(&url.scheme()) || url.host_str().is_none() {
        return Err(format!(
            "{field} `{given}` must be an absolute URL with a host and one of the schemes {}",
            schemes.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
