//! `opcp-cred import [FILE|-]`: turn an openrc file (read, never run) or the current `OS_*`
//! environment into a stored profile, so the file with its plain-text secrets can go.

use std::io::Read as _;
use std::path::Path;

use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::{ClientAuth, ProfileConfig, PutProfile};

use super::login::absolute;
use super::store;
use crate::cli::{ImportArgs, ProfileArg};
use crate::daemon::Daemon;
use crate::error::CliError;
use crate::openrc::{self, Assignment, Parsed, Value};
use crate::prompt;

pub async fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let name = ProfileArg {
        profile: args.profile.clone(),
    }
    .resolve()?
    .unwrap_or_else(|| "default".to_owned());
    let from_stdin = args.password_stdin || args.client_secret_stdin;
    if from_stdin && args.file.as_deref() == Some(Path::new("-")) {
        return Err(CliError::usage(
            "stdin cannot carry both the openrc and the secrets: give the openrc as a file",
        )
        .into());
    }
    let given = prompt::read_stdin_secrets(
        std::io::stdin(),
        args.password_stdin,
        args.client_secret_stdin,
    )?;
    let (source, parsed) = read_source(args.file.as_deref())?;
    for warning in &parsed.warnings {
        eprintln!(
            "opcp-cred: warning: {source}:{}: {}",
            warning.line, warning.message
        );
    }
    let vars = Vars {
        parsed: &parsed,
        source: &source,
    };
    let config = config_from(&vars)?;
    let profile = PutProfile {
        config,
        password: match given.password {
            Some(password) => password,
            None => secret(&vars, "OS_PASSWORD", "Keycloak password")?,
        },
        client_secret: match given.client_secret {
            Some(client_secret) => client_secret,
            None => secret(&vars, "OS_CLIENT_SECRET", "Keycloak client secret")?,
        },
        make_default: args.default,
    };
    let mut daemon = Daemon::connect().await?;
    store(&mut daemon, &name, &profile).await
}

/// The variables and a name for where they come from, for messages.
fn read_source(file: Option<&Path>) -> Result<(String, Parsed), CliError> {
    let Some(file) = file else {
        let env = std::env::vars_os()
            .filter_map(|(n, v)| Some((n.into_string().ok()?, v.into_string().ok()?)));
        return Ok(("the environment".to_owned(), Parsed::from_env(env)));
    };
    let (source, text) = if file == Path::new("-") {
        let mut text = String::new();
        let read = std::io::stdin().read_to_string(&mut text);
        ("<stdin>".to_owned(), read.map(|_| text))
    } else {
        (file.display().to_string(), std::fs::read_to_string(file))
    };
    // The file holds secrets: keep it wiped on drop from here on.
    let text =
        Secret::new(text.map_err(|e| CliError::usage(format!("cannot read {source}: {e}")))?);
    let parsed = openrc::parse(text.expose()).map_err(|e| {
        CliError::config(format!(
            "{source}:{}: {}; nothing was imported",
            e.line, e.message
        ))
    })?;
    Ok((source, parsed))
}

struct Vars<'a> {
    parsed: &'a Parsed,
    source: &'a str,
}

impl Vars<'_> {
    fn at(&self, line: usize) -> String {
        match line {
            0 => self.source.to_owned(),
            line => format!("{}:{line}", self.source),
        }
    }

    /// A literal value; empty counts as unset (openrc files often `export X=""`).
    fn optional(&self, name: &str) -> Result<Option<String>, CliError> {
        match self.parsed.get(name) {
            None => Ok(None),
            Some(Assignment { value: Value::Literal(value), .. }) => {
                Ok(Some(value.expose().to_owned()).filter(|v| !v.is_empty()))
            }
            Some(Assignment { line, value: Value::Computed(how) }) => Err(CliError::config(format!(
                "{}: {name} is computed by {how}, and import never runs the file",
                self.at(*line)
            ))
            .with_hint("write the value out in the file, or source the file and run `opcp-cred import` without one")),
        }
    }

    fn required(&self, name: &str) -> Result<String, CliError> {
        self.optional(name)?.ok_or_else(|| {
            CliError::config(format!("{}: {name} is not set", self.source)).with_hint(format!(
                "add `export {name}=…`, or give the settings to `opcp-cred login`"
            ))
        })
    }
}

/// Everything but the secrets. Pure, apart from making a relative OS_CACERT absolute.
fn config_from(vars: &Vars) -> Result<ProfileConfig, CliError> {
    check_auth_type(vars)?;
    let (project_id, project_name, project_domain_name) = match vars.optional("OS_PROJECT_ID")? {
        Some(id) => (Some(id), None, None),
        None => match vars.optional("OS_PROJECT_NAME")? {
            Some(name) => (None, Some(name), vars.optional("OS_PROJECT_DOMAIN_NAME")?),
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

fn check_auth_type(vars: &Vars) -> Result<(), CliError> {
    match vars.optional("OS_AUTH_TYPE")?.as_deref() {
        None | Some("v3oidcpassword") => Ok(()),
        Some("token" | "v3token") if vars.parsed.get("OS_TOKEN").is_some() => Err(CliError::config(format!(
            "{}: OS_AUTH_TYPE is token: these are a token's exports (from `opcp-cred env`?), not an openrc",
            vars.source
        ))
        .with_hint("import the openrc file itself: `opcp-cred import FILE`")),
        Some(other) => Err(CliError::config(format!(
            "{}: OS_AUTH_TYPE is `{other}`, but opcp-cred imports only `v3oidcpassword` (a Keycloak password login federated to Keystone)",
            vars.source
        ))
        .with_hint("download the openrc of a federated (OIDC) user, or give the settings to `opcp-cred login`")),
    }
}

/// OS_DISCOVERY_ENDPOINT, else derived from a Keycloak OS_ACCESS_TOKEN_ENDPOINT
/// (`…/realms/R/protocol/openid-connect/token` → `…/realms/R/.well-known/openid-configuration`).
fn discovery_endpoint(vars: &Vars) -> Result<String, CliError> {
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

/// A secret from the variables, or asked for (hidden) when it is missing or computed and
/// stdin is a terminal.
fn secret(vars: &Vars, name: &str, question: &str) -> Result<Secret, CliError> {
    let problem = match vars.parsed.get(name) {
        Some(Assignment {
            value: Value::Literal(value),
            ..
        }) if !value.is_empty() => return Ok(value.clone()),
        Some(Assignment {
            line,
            value: Value::Computed(how),
        }) => {
            format!(
                "{}: {name} is computed by {how}, and import never runs the file",
                vars.at(*line)
            )
        }
        _ => format!("{}: {name} is not set", vars.source),
    };
    if !prompt::stdin_is_terminal() {
        return Err(CliError::config(problem).with_hint(
            "run `opcp-cred import` on a terminal to be asked for it, or pass it on stdin with --password-stdin / --client-secret-stdin",
        ));
    }
    eprintln!("opcp-cred: {problem}: asking for it instead");
    prompt::hidden(question)
}

#[cfg(test)]
mod tests;
