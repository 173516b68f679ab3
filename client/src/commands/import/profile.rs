//! The profile's settings from an import's values: which `OS_*` names mean what.

use std::path::Path;

use opcp_cred_proto::messages::{ClientAuth, ProfileConfig};

use super::super::login::absolute;
use super::resolve::Resolver;
use crate::error::CliError;

/// Everything but the secrets. Apart from questions on a terminal, pure, but for making a
/// relative OS_CACERT absolute.
pub fn config_from(vars: &mut Resolver) -> Result<ProfileConfig, CliError> {
    check_auth_type(vars)?;
    let (project_id, project_name, project_domain_name) = match vars.optional("OS_PROJECT_ID")? {
        Some(id) => (Some(id), None, None),
        None => match vars.optional("OS_PROJECT_NAME")? {
            Some(name) => (None, Some(name), project_domain_name(vars)?),
            None => (None, None, None),
        },
    };
    Ok(ProfileConfig {
        auth_url: vars.required("OS_AUTH_URL")?,
        identity_provider: vars.required("OS_IDENTITY_PROVIDER")?,
        protocol: vars
            .optional("OS_PROTOCOL")?
            .unwrap_or_else(|| "openid".to_owned()),
        discovery_endpoint: discovery_endpoint(vars)?,
        client_id: vars.required("OS_CLIENT_ID")?,
        username: vars.required("OS_USERNAME")?,
        project_id,
        project_name,
        project_domain_name,
        interface: vars.optional("OS_INTERFACE")?,
        region_name: vars.optional("OS_REGION_NAME")?,
        cacert: vars
            .optional("OS_CACERT")?
            .map(|p| absolute(Path::new(&p)))
            .transpose()?,
        insecure: false,
        proxy: None,
        client_auth: ClientAuth::default(),
        scope: vars.optional("OS_OPENID_SCOPE")?,
        refresh_at: None,
    })
}

fn check_auth_type(vars: &mut Resolver) -> Result<(), CliError> {
    let settings = vars.settings;
    let (source, label) = (&settings.source, settings.label("OS_AUTH_TYPE"));
    match vars.optional("OS_AUTH_TYPE")?.as_deref() {
        None | Some("v3oidcpassword") => Ok(()),
        Some("token" | "v3token") if settings.get("OS_TOKEN").is_some() => Err(CliError::config(format!(
            "{source}: {label} is token: these are a token's exports (from `opcp-cred env`?), not an openrc"
        ))
        .with_hint("import the openrc file itself: `opcp-cred import FILE`")),
        Some(other) => Err(CliError::config(format!(
            "{source}: {label} is `{other}`, but opcp-cred imports only `v3oidcpassword` (a Keycloak password login federated to Keystone)"
        ))
        .with_hint("download the openrc or clouds.yaml of a federated (OIDC) user, or give the settings to `opcp-cred login`")),
    }
}

/// The domain of a project given by name. A domain given only by id cannot be kept (profiles
/// name the domain): better an error than a token for the same name in another domain.
fn project_domain_name(vars: &mut Resolver) -> Result<Option<String>, CliError> {
    if let Some(name) = vars.optional("OS_PROJECT_DOMAIN_NAME")? {
        return Ok(Some(name));
    }
    let settings = vars.settings;
    match vars.optional("OS_PROJECT_DOMAIN_ID")? {
        None => Ok(None),
        Some(id) => Err(CliError::config(format!(
            "{}: the project is given by name in the domain with id `{id}`, and opcp-cred names domains by name",
            settings.source
        ))
        .with_hint(format!(
            "{} with the domain's name, or give the project's id instead",
            settings.how_to_set("OS_PROJECT_DOMAIN_NAME")
        ))),
    }
}

/// OS_DISCOVERY_ENDPOINT, else derived from a Keycloak OS_ACCESS_TOKEN_ENDPOINT
/// (`…/realms/R/protocol/openid-connect/token` → `…/realms/R/.well-known/openid-configuration`).
fn discovery_endpoint(vars: &mut Resolver) -> Result<String, CliError> {
    if let Some(url) = vars.optional("OS_DISCOVERY_ENDPOINT")? {
        return Ok(url);
    }
    let derived = vars.optional("OS_ACCESS_TOKEN_ENDPOINT")?.and_then(|url| {
        let realm = url.strip_suffix("/protocol/openid-connect/token")?;
        Some(format!("{realm}/.well-known/openid-configuration"))
    });
    match derived {
        Some(url) => Ok(url),
        None => vars.required("OS_DISCOVERY_ENDPOINT"),
    }
}
