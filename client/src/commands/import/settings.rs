//! What an import reads, whatever its source: values by their `OS_*` name, each with the name
//! its source gives it and the place it was read from, for messages a person can act on.

use std::collections::BTreeMap;

use crate::clouds_yaml::Clouds;
use crate::error::CliError;
use crate::openrc::{Known, Parsed, Value};

#[derive(Debug)]
pub struct Setting {
    /// How the source names it: `OS_PASSWORD`, or `auth.password` in clouds.yaml.
    pub label: String,
    /// `file:line`, or the source alone.
    pub at: String,
    pub value: Value,
}

#[derive(Debug)]
pub enum Kind {
    Openrc,
    Environment,
    CloudsYaml { cloud: String },
}

#[derive(Debug)]
pub struct Settings {
    /// The file, `<stdin>`, or `the environment`.
    pub source: String,
    pub kind: Kind,
    vars: BTreeMap<String, Setting>,
}

/// The `OS_*` names import reads, and their keys in a clouds.yaml cloud.
const CLOUD_KEYS: [(&str, &[&str]); 18] = [
    ("OS_AUTH_TYPE", &["auth_type"]),
    ("OS_AUTH_URL", &["auth", "auth_url"]),
    ("OS_IDENTITY_PROVIDER", &["auth", "identity_provider"]),
    ("OS_PROTOCOL", &["auth", "protocol"]),
    ("OS_DISCOVERY_ENDPOINT", &["auth", "discovery_endpoint"]),
    (
        "OS_ACCESS_TOKEN_ENDPOINT",
        &["auth", "access_token_endpoint"],
    ),
    ("OS_CLIENT_ID", &["auth", "client_id"]),
    ("OS_CLIENT_SECRET", &["auth", "client_secret"]),
    ("OS_USERNAME", &["auth", "username"]),
    ("OS_PASSWORD", &["auth", "password"]),
    ("OS_PROJECT_ID", &["auth", "project_id"]),
    ("OS_PROJECT_NAME", &["auth", "project_name"]),
    ("OS_PROJECT_DOMAIN_NAME", &["auth", "project_domain_name"]),
    ("OS_PROJECT_DOMAIN_ID", &["auth", "project_domain_id"]),
    ("OS_OPENID_SCOPE", &["auth", "openid_scope"]),
    ("OS_INTERFACE", &["interface"]),
    ("OS_REGION_NAME", &["region_name"]),
    ("OS_CACERT", &["cacert"]),
];

impl Settings {
    /// The `OS_*` variables of an openrc file (`Kind::Openrc`) or of the environment.
    pub fn from_openrc(parsed: &Parsed, source: &str, kind: Kind) -> Self {
        let vars = parsed
            .iter()
            .filter(|(name, _)| name.starts_with("OS_"))
            .map(|(name, assignment)| {
                let at = match assignment.line {
                    0 => source.to_owned(),
                    line => format!("{source}:{line}"),
                };
                let setting = Setting {
                    label: name.to_owned(),
                    at,
                    value: assignment.value.clone(),
                };
                (name.to_owned(), setting)
            })
            .collect();
        Self {
            source: source.to_owned(),
            kind,
            vars,
        }
    }

    /// Cloud `cloud` of `clouds`; only `auth_type: v3oidcpassword` is accepted.
    pub fn from_cloud(clouds: &Clouds, cloud: &str) -> Result<Self, CliError> {
        let source = format!("{} (cloud `{cloud}`)", clouds.clouds.path.display());
        let mut vars = BTreeMap::new();
        for (name, path) in CLOUD_KEYS {
            let Some(found) = clouds.get(cloud, path)? else {
                continue;
            };
            let Some(text) = found.text else { continue };
            let setting = Setting {
                label: format!("`{}`", path.join(".")),
                at: found.at,
                value: Value::Known(Known::literal(text.expose())),
            };
            vars.insert(name.to_owned(), setting);
        }
        if !vars.contains_key("OS_AUTH_TYPE") {
            return Err(CliError::config(format!(
                "{source} has no `auth_type`, so openstack logs in with a Keystone password; opcp-cred imports only `auth_type: v3oidcpassword` (a Keycloak password login federated to Keystone); nothing was imported"
            ))
            .with_hint("import the cloud of a federated (OIDC) user, or give the settings to `opcp-cred login`"));
        }
        Ok(Self {
            source,
            kind: Kind::CloudsYaml {
                cloud: cloud.to_owned(),
            },
            vars,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.vars.get(name)
    }

    /// What the source calls `name`.
    pub fn label(&self, name: &str) -> String {
        match self.kind {
            Kind::CloudsYaml { .. } => CLOUD_KEYS.iter().find(|(n, _)| *n == name).map_or_else(
                || name.to_owned(),
                |(_, path)| format!("`{}`", path.join(".")),
            ),
            Kind::Openrc | Kind::Environment => name.to_owned(),
        }
    }

    /// How to add `name` to the source.
    pub fn how_to_set(&self, name: &str) -> String {
        match &self.kind {
            Kind::Openrc => format!("add `export {name}=…` to {}", self.source),
            Kind::Environment => format!("`export {name}=…` first"),
            Kind::CloudsYaml { cloud } => {
                let label = self.label(name);
                let key = label.trim_matches('`');
                let (parent, key) = key.rsplit_once('.').unwrap_or(("", key));
                let under = if parent.is_empty() {
                    String::new()
                } else {
                    format!(" under `{parent}:`")
                };
                format!("add `{key}:`{under} to cloud `{cloud}`")
            }
        }
    }
}
