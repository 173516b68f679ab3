//! The openrc a person would download for the fixture user, in the OPCP guide's format.

use std::fmt::Write as _;
use std::path::Path;

use super::Sim;
use super::fixture::{
    CLIENT_ID, CLIENT_SECRET, IDP, PASSWORD, PROJECT_WEB_ID, PROTOCOL, REALM, USER,
};

impl Sim {
    /// `export OS_…=…` lines for `openstack` with `v3oidcpassword` as user `alice` of realm
    /// `pod` on project `web`; `cacert` adds `OS_CACERT` (needed with TLS).
    pub fn openrc(&self, cacert: Option<&Path>) -> String {
        let auth_url = format!("{}/v3", self.keystone_url());
        let discovery = self.discovery_url(REALM);
        let mut vars = vec![
            ("OS_AUTH_TYPE", "v3oidcpassword"),
            ("OS_AUTH_URL", auth_url.as_str()),
            ("OS_IDENTITY_PROVIDER", IDP),
            ("OS_PROTOCOL", PROTOCOL),
            ("OS_CLIENT_ID", CLIENT_ID),
            ("OS_CLIENT_SECRET", CLIENT_SECRET),
            ("OS_DISCOVERY_ENDPOINT", discovery.as_str()),
            ("OS_USERNAME", USER),
            ("OS_PASSWORD", PASSWORD),
            ("OS_PROJECT_ID", PROJECT_WEB_ID),
            ("OS_INTERFACE", "public"),
            ("OS_IDENTITY_API_VERSION", "3"),
        ];
        let cacert = cacert.map(|path| path.display().to_string());
        if let Some(cacert) = &cacert {
            vars.push(("OS_CACERT", cacert.as_str()));
        }
        vars.iter().fold(String::new(), |mut out, (name, value)| {
            writeln!(out, "export {name}={}", shell_quote(value)).expect("writing to a String");
            out
        })
    }
}

/// Single-quotes `value` unless it is made only of characters the shell leaves alone.
fn shell_quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain && !value.is_empty() {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            shell_quote("http://127.0.0.1:5000/v3"),
            "http://127.0.0.1:5000/v3"
        );
        assert_eq!(shell_quote("/tmp/a dir/ca.pem"), "'/tmp/a dir/ca.pem'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
