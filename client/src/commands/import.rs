//! `opcp-cred import`: turn an openrc file (read, never run), the current `OS_*` environment,
//! or a cloud of clouds.yaml into a stored profile, so the plain-text secrets can go; with
//! `--rewrite`, take them out of the file too.
//!
//! - [`settings`]: the values read, named as their source names them.
//! - [`resolve`]: the values to store, asked for on a terminal where the source cannot say.
//! - [`profile`]: which `OS_*` name is which profile setting.
//! - [`rewrite`]: the files without their secrets, once the profile is stored.

mod profile;
mod resolve;
mod rewrite;
mod settings;

use std::io::Read;
use std::path::{Path, PathBuf};

use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::{PutProfile, valid_profile_name};
use zeroize::Zeroizing;

use self::resolve::{Ask, Resolver, Terminal};
use self::rewrite::Plan;
use self::settings::{Kind, Settings};
use super::store;
use crate::cli::{ImportArgs, ProfileArg};
use crate::clouds_yaml::{self, Clouds};
use crate::daemon::Daemon;
use crate::error::CliError;
use crate::openrc::{self, Parsed};
use crate::prompt;

/// Where the values come from, and what `--rewrite` would change.
enum Origin {
    Openrc { path: PathBuf, text: Secret },
    Stdin,
    Environment,
    Clouds { clouds: Clouds, cloud: String },
}

pub async fn run(args: &ImportArgs) -> anyhow::Result<()> {
    check_args(args)?;
    let given = prompt::read_stdin_secrets(
        std::io::stdin(),
        args.password_stdin,
        args.client_secret_stdin,
    )?;
    let (settings, origin) = read_source(args)?;
    let name = profile_name(args, &origin)?;
    let mut terminal = Terminal;
    let ask = prompt::stdin_is_terminal().then_some(&mut terminal as &mut dyn Ask);
    let mut vars = Resolver::new(&settings, ask, args.allow_empty);
    let config = profile::config_from(&mut vars)?;
    let password = match given.password {
        Some(password) => password,
        None => vars.secret("OS_PASSWORD", resolve::PASSWORD)?,
    };
    let client_secret = match given.client_secret {
        Some(client_secret) => client_secret,
        None => vars.secret("OS_CLIENT_SECRET", resolve::CLIENT_SECRET)?,
    };
    for note in &vars.notes {
        eprintln!("opcp-cred: note: {note}");
    }
    let plan = match &origin {
        _ if !args.rewrite => None,
        Origin::Openrc { path, text } => Some(Plan::openrc(path, text, &name, args.backup)?),
        Origin::Clouds { clouds, cloud } => Some(Plan::clouds(clouds, cloud, args.backup)?),
        Origin::Stdin | Origin::Environment => None,
    };
    let profile = PutProfile {
        config,
        password,
        client_secret,
        make_default: args.default,
    };
    let mut daemon = Daemon::connect().await?;
    store(&mut daemon, &name, &profile).await?;
    if let Some(plan) = plan {
        let cloud = match &origin {
            Origin::Clouds { cloud, .. } => Some(cloud.as_str()),
            _ => None,
        };
        plan.apply(cloud)?;
    }
    Ok(())
}

fn check_args(args: &ImportArgs) -> Result<(), CliError> {
    let stdin_file = args.file.as_deref() == Some(Path::new("-"));
    if (args.password_stdin || args.client_secret_stdin) && stdin_file {
        return Err(CliError::usage(
            "stdin cannot carry both the openrc and the secrets: give the openrc as a file",
        ));
    }
    let clouds = args.clouds_yaml.is_some() || args.cloud.is_some();
    if args.rewrite && !clouds && (args.file.is_none() || stdin_file) {
        return Err(CliError::usage(
            "--rewrite rewrites a file: give the openrc as FILE, or use --clouds-yaml",
        ));
    }
    Ok(())
}

/// `--profile`, `$OPCP_CRED_PROFILE`, the cloud's name for clouds.yaml, else `default`.
fn profile_name(args: &ImportArgs, origin: &Origin) -> Result<String, CliError> {
    let arg = ProfileArg {
        profile: args.profile.clone(),
    };
    if let Some(name) = arg.resolve()? {
        return Ok(name);
    }
    Ok(match origin {
        Origin::Clouds { cloud, .. } if valid_profile_name(cloud) => cloud.clone(),
        _ => "default".to_owned(),
    })
}

fn read_source(args: &ImportArgs) -> Result<(Settings, Origin), CliError> {
    if args.clouds_yaml.is_some() || args.cloud.is_some() {
        let explicit = args.clouds_yaml.as_ref().and_then(|p| p.as_deref());
        let clouds = clouds_yaml::load(explicit, &|name| std::env::var_os(name))?;
        let cloud = pick_cloud(&clouds, args.cloud.as_deref())?;
        let settings = Settings::from_cloud(&clouds, &cloud)?;
        return Ok((settings, Origin::Clouds { clouds, cloud }));
    }
    let Some(file) = args.file.as_deref() else {
        let env = std::env::vars_os()
            .filter_map(|(n, v)| Some((n.into_string().ok()?, v.into_string().ok()?)));
        let parsed = Parsed::from_env(env);
        let settings = Settings::from_openrc(&parsed, "the environment", Kind::Environment);
        return Ok((settings, Origin::Environment));
    };
    let (source, text) = read_openrc(file)?;
    let parsed = parse_openrc(&source, &text)?;
    let sets_auth_url = parsed.get("OS_AUTH_URL").is_some();
    if let Some(profile) = rewrite::moved_to(text.expose()).filter(|_| !sets_auth_url) {
        return Err(CliError::config(format!(
            "{source} was already moved to opcp-cred: it runs `opcp-cred env --profile {profile}`; nothing to import"
        ))
        .with_hint(format!(
            "use it as it is, or `opcp-cred login --profile {profile}` to change the stored secrets"
        )));
    }
    let settings = Settings::from_openrc(&parsed, &source, Kind::Openrc);
    let origin = if file == Path::new("-") {
        Origin::Stdin
    } else {
        Origin::Openrc {
            path: file.to_owned(),
            text,
        }
    };
    Ok((settings, origin))
}

/// An openrc is a few KiB: more is not one (`/dev/zero`, a wrong file), and reading it all
/// would only fill the memory.
const MAX_OPENRC_BYTES: u64 = 1 << 20;

/// The name and text of FILE (`-`: standard input), bounded, as UTF-8. A pipe is fine
/// (`import <(sops -d openrc.sh)`). The file holds secrets: its bytes are wiped on drop.
fn read_openrc(file: &Path) -> Result<(String, Secret), CliError> {
    let stdin = file == Path::new("-");
    let source = if stdin {
        "<stdin>".to_owned()
    } else {
        file.display().to_string()
    };
    let cannot = |e: std::io::Error| CliError::usage(format!("cannot read {source}: {e}"));
    let reader: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).map_err(cannot)?)
    };
    let mut bytes = Zeroizing::new(Vec::new());
    reader
        .take(MAX_OPENRC_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_OPENRC_BYTES {
        return Err(CliError::usage(format!(
            "{source} is larger than {} KiB: not an openrc; nothing was imported",
            MAX_OPENRC_BYTES / 1024
        )));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok((source, Secret::new(text))),
        Err(err) => {
            // The part before the error is valid: no copy is made.
            let valid = String::from_utf8_lossy(&bytes[..err.valid_up_to()]);
            let line = valid.matches('\n').count() + 1;
            Err(CliError::config(format!(
                "{source}:{line}: not valid UTF-8 (save the file as UTF-8); nothing was imported"
            )))
        }
    }
}

/// The file's variables, `$NAME`s looked up in this process's environment as the shell that
/// sources it would; its warnings go to stderr.
fn parse_openrc(source: &str, text: &Secret) -> Result<Parsed, CliError> {
    let env = |name: &str| std::env::var(name).ok();
    let parsed = openrc::parse(text.expose(), &env).map_err(|e| {
        CliError::config(format!(
            "{source}:{}: {}; nothing was imported",
            e.line, e.message
        ))
    })?;
    for warning in &parsed.warnings {
        eprintln!(
            "opcp-cred: warning: {source}:{}: {}",
            warning.line, warning.message
        );
    }
    Ok(parsed)
}

/// `--cloud`, else `$OS_CLOUD` (as openstack), else the only cloud there is.
fn pick_cloud(clouds: &Clouds, flag: Option<&str>) -> Result<String, CliError> {
    let names = clouds.names();
    let path = clouds.clouds.path.display();
    let listed = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    let from_env = || std::env::var("OS_CLOUD").ok().filter(|c| !c.is_empty());
    let (name, given_by) = match (flag, from_env()) {
        (Some(flag), _) => (flag.to_owned(), "--cloud"),
        (None, Some(env)) => (env, "$OS_CLOUD"),
        (None, None) if names.len() == 1 => return Ok(names[0].clone()),
        (None, None) => {
            return Err(CliError::usage(format!(
                "{path} has {} clouds ({listed}): say which one",
                names.len()
            ))
            .with_hint("pass --cloud NAME"));
        }
    };
    if names.contains(&name) {
        return Ok(name);
    }
    Err(CliError::config(format!(
        "cloud `{name}` ({given_by}) is not in {path} (clouds there: {listed}); nothing was imported"
    ))
    .with_hint("pass --cloud NAME, or --clouds-yaml PATH for another file"))
}

#[cfg(test)]
mod tests;
