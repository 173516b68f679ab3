//! The token environment and its rendering for each shell. Pure: a token in, text out.
//!
//! The sh form must survive `eval $(opcp-cred env)` **unquoted**: the shell splits the output
//! into words on blanks and newlines, may glob each word, and `eval` joins them with single
//! spaces. So every statement ends with `;` (the ssh-agent form `NAME='value'; export NAME;`),
//! and a value that splitting or globbing would change (tabs, newlines, runs of spaces, `*?[`)
//! is written without those characters: as octal escapes decoded by `printf %b`.

use std::fmt::Write as _;

use clap::ValueEnum;
use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::TokenResponse;
use serde::{Serialize, Serializer};

/// Variables that would make an OpenStack client pick another auth plugin, scope, endpoint or
/// CA than the exported token's: removed before the token is set. DESIGN.md's list, plus what
/// old password openrc files and dashboards also leave behind (a system or trust scope, the
/// legacy endpoint type, another cloud's region and CA, which are exported again when the
/// profile configures them).
pub const UNSET: &[&str] = &[
    "OS_PASSWORD",
    "OS_USERNAME",
    "OS_USER_ID",
    "OS_USER_DOMAIN_NAME",
    "OS_USER_DOMAIN_ID",
    "OS_PROJECT_NAME",
    "OS_PROJECT_DOMAIN_NAME",
    "OS_PROJECT_DOMAIN_ID",
    "OS_TENANT_ID",
    "OS_TENANT_NAME",
    "OS_DOMAIN_ID",
    "OS_DOMAIN_NAME",
    "OS_DEFAULT_DOMAIN",
    "OS_CLIENT_ID",
    "OS_CLIENT_SECRET",
    "OS_IDENTITY_PROVIDER",
    "OS_PROTOCOL",
    "OS_DISCOVERY_ENDPOINT",
    "OS_ACCESS_TOKEN_ENDPOINT",
    "OS_ACCESS_TOKEN_TYPE",
    "OS_OPENID_SCOPE",
    "OS_IDP_OTP_KEY",
    "OS_APPLICATION_CREDENTIAL_ID",
    "OS_APPLICATION_CREDENTIAL_NAME",
    "OS_APPLICATION_CREDENTIAL_SECRET",
    "OS_CLOUD",
    "OS_AUTH_PLUGIN",
    "OS_SYSTEM_SCOPE",
    "OS_TRUST_ID",
    "OS_ENDPOINT_TYPE",
    "OS_REGION_NAME",
    "OS_CACERT",
];

/// Output syntax of `opcp-cred env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Sh,
    Bash,
    Zsh,
    Fish,
    Csh,
    /// `{"set": {NAME: value, …}, "unset": [NAME, …]}`
    Json,
}

/// The variables to export, in output order. `expires_at` is the token's expiry rendered by
/// the caller (it needs an owned string).
pub fn variables<'a>(
    token: &'a TokenResponse,
    expires_at: &'a str,
) -> Vec<(&'static str, &'a str)> {
    let mut vars = vec![
        ("OS_AUTH_TYPE", "token"),
        ("OS_TOKEN", token.token.expose()),
        ("OS_AUTH_URL", token.auth_url.as_str()),
        ("OS_PROJECT_ID", token.project_id.as_str()),
        ("OS_IDENTITY_API_VERSION", "3"),
        (
            "OS_INTERFACE",
            token.interface.as_deref().unwrap_or("public"),
        ),
    ];
    if let Some(region) = &token.region_name {
        vars.push(("OS_REGION_NAME", region));
    }
    if let Some(cacert) = &token.cacert {
        vars.push(("OS_CACERT", cacert));
    }
    vars.push(("OPCP_CRED_PROFILE", &token.profile));
    vars.push(("OPCP_CRED_EXPIRES_AT", expires_at));
    vars
}

/// The whole output for `shell`. It holds the token, hence a [`Secret`].
pub fn render(shell: Shell, vars: &[(&str, &str)]) -> Secret {
    let size: usize = vars
        .iter()
        .map(|(n, v)| 2 * n.len() + 4 * v.len() + 32)
        .sum();
    let mut out = String::with_capacity(size + 1024);
    match shell {
        Shell::Sh | Shell::Bash | Shell::Zsh => sh(&mut out, vars),
        Shell::Fish => fish(&mut out, vars),
        Shell::Csh => csh(&mut out, vars),
        Shell::Json => json(&mut out, vars),
    }
    Secret::new(out)
}

fn sh(out: &mut String, vars: &[(&str, &str)]) {
    out.push_str("unset");
    for name in UNSET {
        out.push(' ');
        out.push_str(name);
    }
    out.push_str(";\n");
    for &(name, value) in vars {
        if survives_word_splitting(value) {
            let _ = writeln!(out, "{name}={}; export {name};", single_quoted(value));
        } else {
            // A trailing `_` keeps command substitution from eating trailing newlines.
            // Backquotes, not `$(…)`: a `(` is a bad pattern to zsh under GLOB_SUBST.
            let _ = writeln!(
                out,
                "{name}=\"`printf '%b_' '{}'`\"; {name}=\"${{{name}%_}}\"; export {name};",
                octal_escaped(value)
            );
        }
    }
}

/// True when `'value'` comes back unchanged from unquoted word splitting (single spaces are
/// rejoined by `eval`) and has nothing a glob could match, even zsh's with GLOB_SUBST and
/// EXTENDED_GLOB, nor a word starting with `=` or `~`.
fn survives_word_splitting(value: &str) -> bool {
    !value.contains(GLOB_OR_BLANK) && !value.contains("  ") && !value.contains(" =")
}

/// `#` too: zsh's EXTENDED_GLOB makes it a glob operator in a word that GLOB_SUBST globs.
const GLOB_OR_BLANK: [char; 14] = [
    '\t', '\n', '*', '?', '[', ']', '(', ')', '|', '<', '>', '~', '^', '#',
];

/// POSIX single quotes: everything literal, `'` written as `'\''`.
fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// For `printf %b` in single quotes in backquotes in double quotes: blanks, glob characters,
/// quotes of all three kinds, `$`, `#`, `=` and backslashes as `\0NNN` octal (understood by the
/// printf builtins of bash, dash and zsh), the rest as is.
fn octal_escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        if matches!(c, ' ' | '\\' | '\'' | '"' | '`' | '$' | '#' | '=')
            || GLOB_OR_BLANK.contains(&c)
        {
            let _ = write!(out, "\\0{:03o}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn fish(out: &mut String, vars: &[(&str, &str)]) {
    for name in UNSET {
        let _ = write!(out, "set -e {name}; ");
    }
    out.push('\n');
    for &(name, value) in vars {
        let quoted = value.replace('\\', r"\\").replace('\'', r"\'");
        let _ = writeln!(out, "set -gx {name} '{quoted}';");
    }
}

/// csh and tcsh: `!` is history expansion even inside single quotes, and a newline inside
/// quotes needs a backslash before it.
fn csh(out: &mut String, vars: &[(&str, &str)]) {
    for name in UNSET {
        let _ = write!(out, "unsetenv {name}; ");
    }
    out.push('\n');
    for &(name, value) in vars {
        let quoted = value
            .replace('\'', r"'\''")
            .replace('!', r"\!")
            .replace('\n', "\\\n");
        let _ = writeln!(out, "setenv {name} '{quoted}';");
    }
}

fn json(out: &mut String, vars: &[(&str, &str)]) {
    /// Serialises as a JSON object, keeping the order.
    struct Set<'a>(&'a [(&'a str, &'a str)]);
    impl Serialize for Set<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().copied())
        }
    }
    #[derive(Serialize)]
    struct Env<'a> {
        set: Set<'a>,
        unset: &'a [&'a str],
    }
    let env = Env {
        set: Set(vars),
        unset: UNSET,
    };
    out.push_str(&serde_json::to_string(&env).expect("string maps always serialise"));
    out.push('\n');
}

#[cfg(test)]
mod tests;
