//! The command line, as clap derive types. Parsing and small lookups only; the commands in
//! [`crate::commands`] act on it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use opcp_cred_proto::messages::{ClientAuth, ProjectSelector, valid_profile_name};

use crate::duration;
use crate::error::CliError;
use crate::shell::Shell;

/// The environment variable that names the profile when `--profile` is not given.
pub const PROFILE_ENV: &str = "OPCP_CRED_PROFILE";

/// Fresh project-scoped OpenStack tokens from the opcp-credd agent.
///
/// Exit codes: 0 ok, 1 failure, 2 usage, 3 daemon unreachable, 4 credentials or project
/// rejected (or `login` needed), 5 keyring unavailable, 6 Keycloak or Keystone unreachable,
/// 7 profile or configuration missing or wrong.
#[derive(Debug, Parser)]
#[command(name = "opcp-cred", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print shell code that exports a token: `eval $(opcp-cred env)`.
    Env(EnvArgs),
    /// Print the token alone.
    Token(TokenArgs),
    /// Run a command with a fresh token in its environment.
    Exec(ExecArgs),
    /// Store a profile and its secrets (verified by a real login first).
    Login(Box<LoginArgs>),
    /// Import an openrc file (never run) or the current OS_* environment as a profile.
    Import(ImportArgs),
    /// Show the daemon, its keyring and the cached tokens.
    Status(StatusArgs),
    /// Revoke a profile's tokens and forget its secrets.
    Logout(LogoutArgs),
    /// List the projects a profile's user can get tokens for.
    Projects(ProjectsArgs),
    /// Print a prompt hook for your shell's rc file that keeps `OS_TOKEN` fresh.
    Hook(HookArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Write the man pages into a directory.
    Man(ManArgs),
    /// Check every step from the daemon to a scoped token; say how to fix the first failure.
    #[command(long_about = crate::commands::doctor_help())]
    Doctor(DoctorArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ProfileArg {
    /// Profile [default: $OPCP_CRED_PROFILE, then the configured default]
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
}

impl ProfileArg {
    /// `--profile`, else `$OPCP_CRED_PROFILE`; `None` leaves the choice to the daemon.
    pub fn resolve(&self) -> Result<Option<String>, CliError> {
        let from_env = std::env::var_os(PROFILE_ENV);
        pick_profile(self.profile.as_deref(), from_env)
    }
}

/// The pure half of [`ProfileArg::resolve`].
fn pick_profile(flag: Option<&str>, env: Option<OsString>) -> Result<Option<String>, CliError> {
    let (name, source) = match (flag, env) {
        (Some(flag), _) => (flag.to_owned(), "--profile"),
        (None, Some(env)) if !env.is_empty() => (env.to_string_lossy().into_owned(), PROFILE_ENV),
        (None, _) => return Ok(None),
    };
    if valid_profile_name(&name) {
        return Ok(Some(name));
    }
    Err(CliError::usage(format!(
        "{source} names an invalid profile `{name}`: use letters, digits, `-`, `_` and `.` (up to 64)"
    )))
}

#[derive(Debug, Clone, Args)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are named after their flags"
)]
pub struct ProjectArgs {
    /// Project to scope to [default: the profile's project]
    #[arg(long, value_name = "ID", conflicts_with = "project_name", value_parser = NonEmptyStringValueParser::new())]
    pub project_id: Option<String>,
    /// Project to scope to, by name
    #[arg(long, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub project_name: Option<String>,
    /// Domain of --project-name [default: Default]
    #[arg(long, value_name = "NAME", requires = "project_name")]
    pub project_domain_name: Option<String>,
}

impl ProjectArgs {
    pub fn selector(&self) -> Option<ProjectSelector> {
        ProjectSelector::from_parts(
            self.project_id.as_deref(),
            self.project_name.as_deref(),
            self.project_domain_name.as_deref(),
        )
    }
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The token must stay valid at least this long, e.g. 45m or 2h [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub min_valid: Option<Duration>,
    /// Fetch a new token even if one is cached, e.g. after Keystone revoked it (Keycloak's
    /// refresh token, or the stored password, logs in again; nothing is asked)
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub token: TokenArgs,
    /// Output syntax; `sh` suits bash, dash and zsh. `$SHELL` is never guessed from.
    #[arg(long, value_enum, default_value_t = Shell::Sh)]
    pub shell: Shell,
    /// For prompt hooks: print nothing when `$OS_TOKEN` already holds the token the daemon
    /// gives; answer from the daemon's cache only (a miss starts a fetch for the next prompt
    /// and fails at once), within 2 s
    #[arg(long, conflicts_with = "refresh")]
    pub if_changed: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub token: TokenArgs,
    /// The command and its arguments, after `--`
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// The OPCP Keycloak realms `--realm` can derive endpoints for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Realm {
    /// The administration realm (identity provider `keycloak-admin`).
    Master,
    /// The pod's user realm (identity provider `keycloak`).
    Pod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientAuthArg {
    /// HTTP Basic client_id:client_secret (client_secret_basic)
    Basic,
    /// client_id and client_secret in the form body (client_secret_post)
    Post,
}

impl From<ClientAuthArg> for ClientAuth {
    fn from(arg: ClientAuthArg) -> Self {
        match arg {
            ClientAuthArg::Basic => Self::Basic,
            ClientAuthArg::Post => Self::Post,
        }
    }
}

/// Values not given are taken from the existing profile, then asked for on a terminal.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// OPCP region host name: derives --auth-url, --identity-provider, --discovery-endpoint
    #[arg(long, value_name = "FQDN", requires = "realm")]
    pub fqdn: Option<String>,
    /// OPCP Keycloak realm for --fqdn
    #[arg(long, value_enum, requires = "fqdn")]
    pub realm: Option<Realm>,
    /// Keystone URL, e.g. https://keystone.example.test
    #[arg(long, value_name = "URL")]
    pub auth_url: Option<String>,
    /// Keystone identity provider name
    #[arg(long, value_name = "NAME")]
    pub identity_provider: Option<String>,
    /// Keystone federation protocol [default: openid]
    #[arg(long, value_name = "NAME")]
    pub protocol: Option<String>,
    /// Keycloak realm's .well-known/openid-configuration URL
    #[arg(long, value_name = "URL")]
    pub discovery_endpoint: Option<String>,
    /// Keycloak client id
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Keycloak user name
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Keystone endpoint interface [default: public]
    #[arg(long, value_name = "INTERFACE", value_parser = ["public", "internal", "admin"])]
    pub interface: Option<String>,
    /// Region of the cloud's endpoints, exported as OS_REGION_NAME
    #[arg(long, value_name = "REGION")]
    pub region_name: Option<String>,
    /// PEM file of CA certificates to trust for this cloud
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// HTTP(S) proxy for this profile's Keycloak and Keystone traffic, without credentials
    /// (the command line is visible to other users), e.g. http://proxy.example.test:3128
    #[arg(long, value_name = "URL", value_parser = proxy_url)]
    pub proxy: Option<String>,
    /// How the client authenticates at Keycloak [default: basic]
    #[arg(long, value_enum)]
    pub client_auth: Option<ClientAuthArg>,
    /// Make this the default profile
    #[arg(long)]
    pub default: bool,
    /// Read the password from stdin (first line when --client-secret-stdin is given too)
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the client secret from stdin (second line when --password-stdin is given too)
    #[arg(long)]
    pub client_secret_stdin: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Profile to store [default: $OPCP_CRED_PROFILE, then the cloud's name with --cloud, then
    /// `default`]
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// Make this the default profile
    #[arg(long)]
    pub default: bool,
    /// openrc file to read (never run); `-` for stdin; none: the current OS_* environment
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Import a cloud of clouds.yaml (`auth_type: v3oidcpassword`), with secure.yaml merged in
    /// as openstack does; no PATH: the first of ./clouds.yaml, ~/.config/openstack/clouds.yaml
    /// ($XDG_CONFIG_HOME), /etc/openstack/clouds.yaml
    #[arg(long, value_name = "PATH", num_args = 0..=1, conflicts_with = "file")]
    #[expect(
        clippy::option_option,
        reason = "clap's shape for a flag whose value is optional: absent, bare, or with PATH"
    )]
    pub clouds_yaml: Option<Option<PathBuf>>,
    /// The cloud of clouds.yaml to import (implies --clouds-yaml) [default: $OS_CLOUD, else
    /// the only one]
    #[arg(long, value_name = "NAME", conflicts_with = "file")]
    pub cloud: Option<String>,
    /// Read the password from stdin instead of the file (for a file that asks for it with
    /// `read`); with --client-secret-stdin too, the password is the first line
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the client secret from stdin instead of the file
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Take a `$NAME` that the shell expands to nothing (an unquoted `$` in a generated
    /// openrc) as the shell does, without asking
    #[arg(long)]
    pub allow_empty: bool,
    /// Once the profile is stored, replace FILE with `eval $(opcp-cred env --profile P)`; with
    /// --clouds-yaml, remove the cloud's password and client_secret from clouds.yaml and
    /// secure.yaml, leaving the rest as it is
    #[arg(long)]
    pub rewrite: bool,
    /// With --rewrite, keep each original file as FILE.bak (mode 0600)
    #[arg(long, requires = "rewrite")]
    pub backup: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print the daemon's answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Log out of every profile
    #[arg(long, conflicts_with = "profile")]
    pub all: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ProjectsArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Print the daemon's answer as JSON
    #[arg(long)]
    pub json: bool,
}

/// The shells `hook` and `completions` know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InteractiveShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Args)]
pub struct HookArgs {
    /// The shell whose rc file gets the hook, e.g. `eval "$(opcp-cred hook bash)"` in ~/.bashrc
    #[arg(value_enum)]
    pub shell: InteractiveShell,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: InteractiveShell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Where to write opcp-cred.1 and one page per subcommand, e.g. ~/.local/share/man/man1
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

/// `--proxy`: credentials must not reach argv, where other users can read them.
fn proxy_url(value: &str) -> Result<String, &'static str> {
    if value.contains('@') {
        return Err(
            "a proxy URL with credentials must not be given on the command line (other \
                    users can read it): write `proxy` in config.toml instead",
        );
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("opcp-cred").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn profile_flag_beats_the_environment_and_empty_env_is_unset() {
        let env = Some(OsString::from("from-env"));
        assert_eq!(
            pick_profile(Some("flag"), env.clone()).unwrap().as_deref(),
            Some("flag")
        );
        assert_eq!(
            pick_profile(None, env).unwrap().as_deref(),
            Some("from-env")
        );
        assert_eq!(pick_profile(None, Some(OsString::new())).unwrap(), None);
        assert_eq!(pick_profile(None, None).unwrap(), None);
    }

    #[test]
    fn invalid_profile_names_are_usage_errors_naming_the_source() {
        let err = pick_profile(Some("../etc"), None).unwrap_err();
        assert_eq!(err.code, Code::Usage);
        assert!(err.message.contains("--profile") && err.message.contains("../etc"));
        let err = pick_profile(None, Some("a/b".into())).unwrap_err();
        assert!(err.message.contains(PROFILE_ENV), "{}", err.message);
    }

    #[test]
    fn env_takes_the_documented_flags() {
        let cli = parse(&[
            "env",
            "--profile",
            "pod",
            "--project-id",
            "abc",
            "--shell",
            "fish",
            "--min-valid",
            "45m",
        ])
        .unwrap();
        let Command::Env(args) = cli.command else {
            panic!("not env")
        };
        assert_eq!(args.shell, Shell::Fish);
        assert_eq!(args.token.profile.profile.as_deref(), Some("pod"));
        assert_eq!(args.token.min_valid, Some(Duration::from_secs(2700)));
        assert_eq!(
            args.token.project.selector(),
            Some(ProjectSelector::Id { id: "abc".into() })
        );
    }

    #[test]
    fn project_name_defaults_its_domain_and_excludes_project_id() {
        let cli = parse(&["token", "--project-name", "web"]).unwrap();
        let Command::Token(args) = cli.command else {
            panic!("not token")
        };
        let want = ProjectSelector::Name {
            name: "web".into(),
            domain_name: "Default".into(),
        };
        assert_eq!(args.project.selector(), Some(want));
        assert!(parse(&["token", "--project-name", "web", "--project-id", "x"]).is_err());
        assert!(parse(&["token", "--project-domain-name", "d"]).is_err());
    }

    #[test]
    fn exec_takes_everything_after_the_separator() {
        let cli = parse(&[
            "exec",
            "--profile",
            "pod",
            "--",
            "openstack",
            "--os-cloud",
            "x",
            "-v",
        ])
        .unwrap();
        let Command::Exec(args) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(args.command, ["openstack", "--os-cloud", "x", "-v"]);
        assert!(parse(&["exec"]).is_err(), "a command is required");
    }

    #[test]
    fn login_proxy_takes_a_url_but_never_credentials() {
        let ok = parse(&["login", "--proxy", "http://proxy.example.test:3128"]);
        assert!(ok.is_ok());
        let err = parse(&["login", "--proxy", "http://u:fake-pw@proxy.example.test"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string()
                .contains("must not be given on the command line"),
            "{err}"
        );
    }

    #[test]
    fn usage_errors_exit_2_and_bad_durations_explain() {
        let err = parse(&["env", "--min-valid", "soon"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("45m, 2h or 90s"), "{err}");
        assert_eq!(
            parse(&["login", "--fqdn", "example.test"])
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            parse(&["env", "--shell", "tcsh"]).unwrap_err().exit_code(),
            2
        );
    }
}
