//! Request and response bodies.
//!
//! Responses ignore unknown fields (an older client can read a newer daemon's answer within one
//! API version). [`ProfileConfig`] is the exception on purpose: it is also the schema of the
//! hand-edited config file, where an unknown key is a typo that must be reported, not dropped.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Secret;
use crate::error::ErrorDetail;

/// A point in time on the wire: RFC 3339 in UTC with second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Self(SystemTime::now())
    }

    /// Time left until this instant, zero when it has passed.
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.0.duration_since(now).unwrap_or_default()
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_seconds(self.0))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = humantime::TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).map(Self)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which project a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProjectSelector {
    Id { id: String },
    Name { name: String, domain_name: String },
}

/// The domain a project name is looked up in when none is given (Keystone's default domain).
pub const DEFAULT_DOMAIN_NAME: &str = "Default";

impl ProjectSelector {
    /// The one rule for flags, config and openrc alike: an id wins; else a name, in its
    /// domain or in [`DEFAULT_DOMAIN_NAME`].
    pub fn from_parts(
        id: Option<&str>,
        name: Option<&str>,
        domain_name: Option<&str>,
    ) -> Option<Self> {
        if let Some(id) = id {
            return Some(Self::Id { id: id.to_owned() });
        }
        name.map(|name| Self::Name {
            name: name.to_owned(),
            domain_name: domain_name.unwrap_or(DEFAULT_DOMAIN_NAME).to_owned(),
        })
    }
}

/// `POST /v1/token`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// `None`: the daemon's default profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `None`: the project configured in the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectSelector>,
    /// The token must stay valid at least this long; `None`: the daemon's default (5 min).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_valid_secs: Option<u64>,
    /// Answer from the cache or not at all (prompt hooks): on a miss the daemon starts the
    /// fetch in the background and answers [`ErrorKind::NotCached`](crate::ErrorKind) at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached_only: bool,
    /// Drop the cached token of this project and the Keystone session first: for a token
    /// Keystone stopped accepting before its expiry (revoked by an administrator, say).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

/// A project-scoped token plus everything `opcp-cred env` exports with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: Secret,
    pub expires_at: Timestamp,
    pub profile: String,
    pub project_id: String,
    #[serde(default)]
    pub project_name: Option<String>,
    /// Normalised, ending in `/v3`.
    pub auth_url: String,
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub region_name: Option<String>,
    #[serde(default)]
    pub cacert: Option<String>,
    /// Set when config.toml on disk has an error and the last good config served this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
}

/// How the confidential client authenticates at Keycloak's token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic `client_id:client_secret` (`client_secret_basic`).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

/// One profile's settings: the `[profiles.NAME]` table of `config.toml`. No secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub auth_url: String,
    pub identity_provider: String,
    #[serde(default = "default_protocol")]
    pub protocol: String,
    pub discovery_endpoint: String,
    pub client_id: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
    /// A PEM file of CA certificates trusted for this profile, besides the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cacert: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub client_auth: ClientAuth,
    /// OIDC scope; `openid` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Refresh cached tokens in the background once this percentage of their lifetime has
    /// passed (50 to 95; 75 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_at: Option<u8>,
}

/// The default of [`ProfileConfig::refresh_at`].
pub const DEFAULT_REFRESH_AT: u8 = 75;
/// The values [`ProfileConfig::refresh_at`] may take: earlier wastes logins, later risks
/// serving a token too close to its end.
pub const REFRESH_AT_RANGE: std::ops::RangeInclusive<u8> = 50..=95;

fn default_protocol() -> String {
    "openid".to_owned()
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl ProfileConfig {
    /// A profile with the required settings and every optional one unset, as a config file
    /// with only the required keys reads.
    pub fn new(
        auth_url: impl Into<String>,
        identity_provider: impl Into<String>,
        discovery_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        username: impl Into<String>,
    ) -> Self {
        Self {
            auth_url: auth_url.into(),
            identity_provider: identity_provider.into(),
            protocol: default_protocol(),
            discovery_endpoint: discovery_endpoint.into(),
            client_id: client_id.into(),
            username: username.into(),
            project_id: None,
            project_name: None,
            project_domain_name: None,
            interface: None,
            region_name: None,
            cacert: None,
            insecure: false,
            proxy: None,
            client_auth: ClientAuth::default(),
            scope: None,
            refresh_at: None,
        }
    }

    /// The fraction of a token's lifetime after which it is refreshed.
    pub fn refresh_fraction(&self) -> f64 {
        let percent = self.refresh_at.unwrap_or(DEFAULT_REFRESH_AT);
        f64::from(percent.clamp(*REFRESH_AT_RANGE.start(), *REFRESH_AT_RANGE.end())) / 100.0
    }

    /// The project configured for this profile, if any.
    pub fn project(&self) -> Option<ProjectSelector> {
        ProjectSelector::from_parts(
            self.project_id.as_deref(),
            self.project_name.as_deref(),
            self.project_domain_name.as_deref(),
        )
    }
}

/// `PUT /v1/profiles/{name}`: verified by a real login before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutProfile {
    pub config: ProfileConfig,
    pub password: Secret,
    pub client_secret: Secret,
    /// Make it `default_profile` (always done when the config has no default yet).
    #[serde(default)]
    pub make_default: bool,
}

/// The answer to a successful `PUT /v1/profiles/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutProfileResponse {
    pub profile: String,
    /// The keyring store the secrets went to, e.g. `secret-service` or `keyutils`.
    pub keyring: String,
    pub is_default: bool,
}

/// The answer to `DELETE /v1/profiles/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteProfileResponse {
    pub profile: String,
    /// How many cached tokens were revoked at Keystone.
    pub revoked: usize,
}

/// `GET /v1/profiles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileList {
    #[serde(default)]
    pub default_profile: Option<String>,
    pub profiles: Vec<ProfileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileEntry {
    pub name: String,
    pub config: ProfileConfig,
}

/// A project the user can scope to (`GET /v3/auth/projects`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub domain_id: Option<String>,
}

impl Project {
    /// Whether this is the project `selector` names (by id, or by name: a project's domain
    /// comes back as an id, so the name must do).
    pub fn matches(&self, selector: &ProjectSelector) -> bool {
        match selector {
            ProjectSelector::Id { id } => self.id == *id,
            ProjectSelector::Name { name, .. } => self.name == *name,
        }
    }
}

/// `GET /v1/profiles/{name}/projects`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectList {
    pub profile: String,
    pub projects: Vec<Project>,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub api_version: u32,
    pub daemon_version: String,
    pub pid: u32,
    pub started_at: Timestamp,
    pub config_path: String,
    /// The last config load error, when the daemon runs on an older good config.
    #[serde(default)]
    pub config_error: Option<String>,
    /// The keyring store in use, once one was opened.
    #[serde(default)]
    pub keyring: Option<String>,
    #[serde(default)]
    pub default_profile: Option<String>,
    pub profiles: Vec<ProfileStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileStatus {
    pub name: String,
    #[serde(default)]
    pub tokens: Vec<CachedToken>,
    #[serde(default)]
    pub last_success: Option<Timestamp>,
    #[serde(default)]
    pub last_error: Option<ErrorDetail>,
    /// Set after Keycloak rejected the stored password: nothing is retried until `login`.
    #[serde(default)]
    pub needs_login: bool,
    /// While backing off after an outage: no upstream attempt before this.
    #[serde(default)]
    pub next_attempt: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    pub project_id: String,
    #[serde(default)]
    pub project_name: Option<String>,
    pub expires_at: Timestamp,
    pub fetched_at: Timestamp,
}

/// Profile names end up in paths, keyring entry names and TOML keys: keep them plain.
pub fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests;
