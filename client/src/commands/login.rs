//! `opcp-cred login`: store a profile and its secrets.
//!
//! Each setting comes from its flag, else from `--fqdn`/`--realm`, else from the profile as it
//! is stored (so `login --profile pod` after a password change only asks for the secrets),
//! else from a question on the terminal. Secrets never come from argv.

use std::io;
use std::path::Path;

use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::{
    ProfileConfig, ProfileList, Project, ProjectList, PutProfile, PutProfileResponse,
};
use opcp_cred_proto::routes;

use super::{printable, store};
use clap::ValueEnum as _;

use crate::cli::{LoginArgs, Realm};
use crate::daemon::Daemon;
use crate::error::CliError;
use crate::prompt;

pub async fn run(args: &LoginArgs) -> anyhow::Result<()> {
    let mut daemon = Daemon::connect().await?;
    let list: ProfileList = daemon.get(routes::PROFILES).await?;
    let name = args
        .profile
        .resolve()?
        .or(list.default_profile)
        .unwrap_or_else(|| "default".to_owned());
    let existing = list
        .profiles
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.config);
    let mut secrets = Secrets::from_stdin(args)?;
    // The wizard asks in the order of the OPCP guide: the client's id and secret, then the
    // user's name and password.
    let mut client_secret = None;
    let config = build_config(args, existing.as_ref(), |flag, question| {
        if flag == "--username" && client_secret.is_none() {
            client_secret = Some(secrets.client_secret()?);
        }
        ask_on_terminal(flag, question)
    })?;
    let client_secret = match client_secret {
        Some(secret) => secret,
        None => secrets.client_secret()?,
    };
    let password = secrets.password()?;
    let mut profile = PutProfile {
        config,
        password,
        client_secret,
        make_default: args.default,
    };
    if profile.config.project().is_none() && prompt::stdin_is_terminal() {
        choose_project(&mut daemon, &name, &mut profile).await?;
    }
    store(&mut daemon, &name, &profile).await
}

/// The wizard's project step: log in without a project (the daemon stores the profile only
/// once Keycloak and Keystone accept it), then offer what `/v3/auth/projects` lists instead of
/// asking for an id. The chosen project is verified when the profile is stored with it.
async fn choose_project(
    daemon: &mut Daemon,
    name: &str,
    profile: &mut PutProfile,
) -> anyhow::Result<()> {
    eprintln!("opcp-cred: logging in to list your projects…");
    let _: PutProfileResponse = daemon.put(&routes::profile(name), &*profile).await?;
    let list: ProjectList = daemon.get(&routes::profile_projects(name)).await?;
    let chosen = match list.projects.as_slice() {
        [] => {
            eprintln!(
                "opcp-cred: your user may not scope to any project yet: the profile is stored without one"
            );
            return Ok(());
        }
        [only] => {
            eprintln!("opcp-cred: your only project is {}", describe(only));
            only
        }
        projects => ask_project(projects)?,
    };
    profile.config.project_id = Some(chosen.id.clone());
    profile.config.project_name = None;
    profile.config.project_domain_name = None;
    Ok(())
}

fn describe(project: &Project) -> String {
    format!("{} ({})", printable(&project.name), printable(&project.id))
}

/// A numbered list on the terminal; a typo is asked again, three times at most.
fn ask_project(projects: &[Project]) -> Result<&Project, CliError> {
    eprintln!("Projects you can use:");
    for (i, project) in projects.iter().enumerate() {
        eprintln!("  {}) {}", i + 1, describe(project));
    }
    let question = format!("Project (1-{}, a name or an id)", projects.len());
    for _ in 0..3 {
        let answer = prompt::visible(&question)
            .map_err(|e| CliError::usage(format!("could not read the project: {e}")))?;
        match answer.as_deref().and_then(|a| pick_project(projects, a)) {
            Some(project) => return Ok(project),
            None => eprintln!("no such project: answer with a number from the list"),
        }
    }
    Err(CliError::usage(
        "no project chosen: the profile is stored without one; pass --project-id to `opcp-cred login`",
    ))
}

/// The project an answer names: its number in the list, its id, or its name when unique.
fn pick_project<'a>(projects: &'a [Project], answer: &str) -> Option<&'a Project> {
    let answer = answer.trim();
    if let Ok(n) = answer.parse::<usize>()
        && let Some(project) = n.checked_sub(1).and_then(|i| projects.get(i))
    {
        return Some(project);
    }
    if let Some(project) = projects.iter().find(|p| p.id == answer) {
        return Some(project);
    }
    let mut named = projects.iter().filter(|p| p.name == answer);
    match (named.next(), named.next()) {
        (Some(project), None) => Some(project),
        _ => None,
    }
}

/// The endpoints of an OPCP region, derived from its host name and the Keycloak realm.
#[derive(Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub auth_url: String,
    pub identity_provider: &'static str,
    pub protocol: &'static str,
    pub discovery_endpoint: String,
}

pub fn opcp_endpoints(fqdn: &str, realm: Realm) -> Result<Endpoints, CliError> {
    let fqdn = fqdn.trim().trim_end_matches('.');
    if fqdn.is_empty() || fqdn.contains(|c: char| matches!(c, '/' | ':' | '@') || c.is_whitespace())
    {
        return Err(CliError::usage(format!(
            "--fqdn takes a host name like region.example.test, not `{fqdn}`"
        )));
    }
    let (identity_provider, keycloak, realm) = match realm {
        Realm::Master => ("keycloak-admin", format!("admin.keycloak.{fqdn}"), "master"),
        Realm::Pod => ("keycloak", format!("keycloak.{fqdn}"), "pod"),
    };
    Ok(Endpoints {
        auth_url: format!("https://keystone.{fqdn}"),
        identity_provider,
        protocol: "openid",
        discovery_endpoint: format!(
            "https://{keycloak}/realms/{realm}/.well-known/openid-configuration"
        ),
    })
}

/// The answer to "which cloud": an OPCP environment's host name, or any Keystone's URL.
enum Cloud {
    Opcp(Endpoints),
    Keystone(String),
}

fn ask_cloud(
    ask: &mut impl FnMut(&str, &str) -> Result<String, CliError>,
) -> Result<Cloud, CliError> {
    let answer = ask(
        "--fqdn or --auth-url",
        "OPCP environment host name (e.g. region.example.test), or a Keystone URL",
    )?;
    if answer.contains("://") {
        return Ok(Cloud::Keystone(answer));
    }
    let realm = ask(
        "--realm",
        "Keycloak realm: pod (cloud users) or master (administrators)",
    )?;
    let realm = Realm::from_str(realm.trim(), true).map_err(|_| {
        CliError::usage(format!(
            "the realm is pod or master, not `{realm}`: nothing was stored"
        ))
    })?;
    Ok(Cloud::Opcp(opcp_endpoints(&answer, realm)?))
}

/// Merge flags, derived endpoints and the stored profile; `ask(flag, question)` supplies
/// what is still missing.
fn build_config(
    args: &LoginArgs,
    old: Option<&ProfileConfig>,
    mut ask: impl FnMut(&str, &str) -> Result<String, CliError>,
) -> Result<ProfileConfig, CliError> {
    let mut asked_auth_url = None;
    let derived = match (&args.fqdn, args.realm) {
        (Some(fqdn), Some(realm)) => Some(opcp_endpoints(fqdn, realm)?),
        // A new profile with no cloud given: the wizard's first question.
        _ if args.auth_url.is_none() && old.is_none() => match ask_cloud(&mut ask)? {
            Cloud::Opcp(endpoints) => Some(endpoints),
            Cloud::Keystone(url) => {
                asked_auth_url = Some(url);
                None
            }
        },
        _ => None,
    };
    let derived = derived.as_ref();
    let auth_url_flag = args.auth_url.clone().or(asked_auth_url);
    let mut pick = |flag: &Option<String>,
                    derived: Option<&str>,
                    old: Option<&str>,
                    name,
                    question| {
        match flag.as_deref().or(derived).or(old) {
            Some(value) => Ok(value.to_owned()),
            None => ask(name, question),
        }
    };
    let config = ProfileConfig {
        auth_url: pick(
            &auth_url_flag,
            derived.map(|d| d.auth_url.as_str()),
            old.map(|c| c.auth_url.as_str()),
            "--auth-url",
            "Keystone auth URL",
        )?,
        identity_provider: pick(
            &args.identity_provider,
            derived.map(|d| d.identity_provider),
            old.map(|c| c.identity_provider.as_str()),
            "--identity-provider",
            "Keystone identity provider",
        )?,
        discovery_endpoint: pick(
            &args.discovery_endpoint,
            derived.map(|d| d.discovery_endpoint.as_str()),
            old.map(|c| c.discovery_endpoint.as_str()),
            "--discovery-endpoint",
            "OIDC discovery URL",
        )?,
        client_id: pick(
            &args.client_id,
            None,
            old.map(|c| c.client_id.as_str()),
            "--client-id",
            "Keycloak client id",
        )?,
        username: pick(
            &args.username,
            None,
            old.map(|c| c.username.as_str()),
            "--username",
            "Keycloak user name",
        )?,
        protocol: (args.protocol.as_deref().or(derived.map(|d| d.protocol)))
            .or(old.map(|c| c.protocol.as_str()))
            .unwrap_or("openid")
            .to_owned(),
        ..optional_settings(args, old)?
    };
    Ok(config)
}

/// The settings nobody is asked for: each flag, else the stored value, else unset. The
/// required ones are left empty for [`build_config`] to fill.
fn optional_settings(
    args: &LoginArgs,
    old: Option<&ProfileConfig>,
) -> Result<ProfileConfig, CliError> {
    let stored = |field: fn(&ProfileConfig) -> &Option<String>| old.and_then(|c| field(c).clone());
    let project = &args.project;
    let (project_id, project_name, project_domain_name) = if project.project_id.is_some() {
        (project.project_id.clone(), None, None)
    } else if project.project_name.is_some() {
        (
            None,
            project.project_name.clone(),
            project.project_domain_name.clone(),
        )
    } else {
        (
            stored(|c| &c.project_id),
            stored(|c| &c.project_name),
            stored(|c| &c.project_domain_name),
        )
    };
    let cacert = args.cacert.as_deref().map(absolute).transpose()?;
    Ok(ProfileConfig {
        auth_url: String::new(),
        identity_provider: String::new(),
        protocol: String::new(),
        discovery_endpoint: String::new(),
        client_id: String::new(),
        username: String::new(),
        project_id,
        project_name,
        project_domain_name,
        interface: args.interface.clone().or_else(|| stored(|c| &c.interface)),
        region_name: args
            .region_name
            .clone()
            .or_else(|| stored(|c| &c.region_name)),
        cacert: cacert.or_else(|| stored(|c| &c.cacert)),
        insecure: old.is_some_and(|c| c.insecure),
        proxy: args.proxy.clone().or_else(|| stored(|c| &c.proxy)),
        client_auth: args
            .client_auth
            .map(Into::into)
            .or(old.map(|c| c.client_auth))
            .unwrap_or_default(),
        scope: stored(|c| &c.scope),
        refresh_at: old.and_then(|c| c.refresh_at),
    })
}

/// The daemon runs elsewhere: a relative path must be made absolute here.
pub fn absolute(path: &Path) -> Result<String, CliError> {
    let path = std::path::absolute(path)
        .map_err(|e| CliError::usage(format!("cannot make {} absolute: {e}", path.display())))?;
    path.into_os_string().into_string().map_err(|p| {
        CliError::usage(format!(
            "{} is not valid UTF-8: rename it or move the file",
            p.display()
        ))
    })
}

/// A question on the terminal; an empty answer is asked again, three times at most.
fn ask_on_terminal(flag: &str, question: &str) -> Result<String, CliError> {
    if !prompt::stdin_is_terminal() {
        return Err(CliError::usage(format!(
            "{flag} is required (stdin is not a terminal to ask for it)"
        )));
    }
    for _ in 0..3 {
        let answer = prompt::visible(question)
            .map_err(|e| CliError::usage(format!("could not read the {question}: {e}")))?;
        match answer {
            Some(answer) => return Ok(answer),
            None => eprintln!("an answer is needed (Ctrl-C stops, nothing is stored)"),
        }
    }
    Err(CliError::usage(format!(
        "{flag} is required: the {question} cannot be empty; nothing was stored"
    )))
}

/// Password and client secret: from stdin when the flags say so, else asked hidden.
struct Secrets {
    piped: prompt::StdinSecrets,
    /// With one secret piped, the other can still be asked on the terminal (/dev/tty).
    can_ask: bool,
}

impl Secrets {
    fn from_stdin(args: &LoginArgs) -> Result<Self, CliError> {
        let piped = prompt::read_stdin_secrets(
            io::stdin().lock(),
            args.password_stdin,
            args.client_secret_stdin,
        )?;
        let can_ask =
            prompt::stdin_is_terminal() || args.password_stdin || args.client_secret_stdin;
        Ok(Self { piped, can_ask })
    }

    fn password(&mut self) -> Result<Secret, CliError> {
        match self.piped.password.take() {
            Some(password) => Ok(password),
            None => self.ask("password", "--password-stdin"),
        }
    }

    fn client_secret(&mut self) -> Result<Secret, CliError> {
        match self.piped.client_secret.take() {
            Some(secret) => Ok(secret),
            None => self.ask("client secret", "--client-secret-stdin"),
        }
    }

    fn ask(&self, what: &str, flag: &str) -> Result<Secret, CliError> {
        if !self.can_ask {
            return Err(CliError::usage(format!(
                "no terminal to ask for the {what}: pipe it on stdin with {flag}"
            )));
        }
        prompt::hidden(&format!("Keycloak {what}"))
    }
}

#[cfg(test)]
mod tests;
