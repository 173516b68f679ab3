//! `auth_url` normalisation: the one function every Keystone URL is built from.
//!
//! | given                                         | base used                               |
//! |-----------------------------------------------|-----------------------------------------|
//! | `https://h` or `https://h/`                   | `https://h/v3`                          |
//! | `https://h:5000/v3` or `…/v3/`                | `https://h:5000/v3`                     |
//! | `http://h/identity` or `http://h/identity/v3` | `http://h/identity/v3`                  |
//! | `…/v3/v3/`                                    | one `/v3`, with a warning               |
//! | `…/v2.0`                                      | error: Keystone v3 is required          |

use url::Url;

/// A Keystone v3 base URL: no trailing slash, ends in `/v3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUrl {
    base: String,
    /// Set when the given URL needed more than adding `/v3` (a repeated `/v3`).
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthUrlError {
    #[error("auth_url `{0}` is not a valid URL: {1}")]
    Invalid(String, String),
    #[error("auth_url `{0}` must use http or https")]
    Scheme(String),
    #[error("auth_url `{0}` points to Keystone v2.0; Keystone v3 is required")]
    V2(String),
}

impl AuthUrl {
    pub fn parse(given: &str) -> Result<Self, AuthUrlError> {
        let trimmed = given.trim();
        let url = Url::parse(trimmed)
            .map_err(|e| AuthUrlError::Invalid(trimmed.to_owned(), e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(AuthUrlError::Scheme(trimmed.to_owned()));
        }
        let mut segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|seg| !seg.is_empty()).collect())
            .unwrap_or_default();
        if segments.last().is_some_and(|s| s.starts_with("v2")) {
            return Err(AuthUrlError::V2(trimmed.to_owned()));
        }
        let mut repeated = 0;
        while segments.len() >= 2
            && segments[segments.len() - 1] == "v3"
            && segments[segments.len() - 2] == "v3"
        {
            segments.pop();
            repeated += 1;
        }
        if segments.last() != Some(&"v3") {
            segments.push("v3");
        }
        let mut base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        if let Some(port) = url.port() {
            base.push(':');
            base.push_str(&port.to_string());
        }
        for seg in &segments {
            base.push('/');
            base.push_str(seg);
        }
        let warning =
            (repeated > 0).then(|| format!("auth_url `{trimmed}` repeats `/v3`; using `{base}`"));
        Ok(Self { base, warning })
    }

    /// The base itself, ending in `/v3` (what `OS_AUTH_URL` is set to).
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `base` + `/` + `path` (path without a leading slash, e.g. `auth/tokens`).
    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }
}

impl crate::error::Actionable for AuthUrlError {
    fn kind(&self) -> opcp_cred_proto::ErrorKind {
        opcp_cred_proto::ErrorKind::ConfigInvalid
    }

    fn hint(&self) -> Option<String> {
        Some("give the Keystone URL, e.g. `https://keystone.example.test` or `…/v3`".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(given: &str) -> String {
        AuthUrl::parse(given).unwrap().as_str().to_owned()
    }

    #[test]
    fn design_table() {
        assert_eq!(
            base("https://keystone.example.test"),
            "https://keystone.example.test/v3"
        );
        assert_eq!(
            base("https://keystone.example.test/"),
            "https://keystone.example.test/v3"
        );
        assert_eq!(
            base("https://keystone.example.test:5000/v3"),
            "https://keystone.example.test:5000/v3"
        );
        assert_eq!(
            base("https://keystone.example.test:5000/v3/"),
            "https://keystone.example.test:5000/v3"
        );
        assert_eq!(
            base("http://cloud.example.test/identity"),
            "http://cloud.example.test/identity/v3"
        );
        assert_eq!(
            base("http://cloud.example.test/identity/v3"),
            "http://cloud.example.test/identity/v3"
        );
    }

    #[test]
    fn repeated_v3_is_fixed_with_a_warning() {
        let url = AuthUrl::parse("https://k.example.test/v3/v3/").unwrap();
        assert_eq!(url.as_str(), "https://k.example.test/v3");
        assert!(url.warning.unwrap().contains("repeats"));
        assert!(
            AuthUrl::parse("https://k.example.test/v3")
                .unwrap()
                .warning
                .is_none()
        );
    }

    #[test]
    fn v2_and_garbage_are_errors() {
        assert!(matches!(
            AuthUrl::parse("https://k.example.test/v2.0"),
            Err(AuthUrlError::V2(_))
        ));
        assert!(matches!(
            AuthUrl::parse("https://k.example.test/v2.0/"),
            Err(AuthUrlError::V2(_))
        ));
        assert!(matches!(
            AuthUrl::parse("keystone.example.test"),
            Err(AuthUrlError::Invalid(..))
        ));
        assert!(matches!(
            AuthUrl::parse("ftp://k.example.test"),
            Err(AuthUrlError::Scheme(_))
        ));
    }

    #[test]
    fn join_builds_paths() {
        let url = AuthUrl::parse("http://127.0.0.1:8080/identity/").unwrap();
        assert_eq!(
            url.join("auth/tokens"),
            "http://127.0.0.1:8080/identity/v3/auth/tokens"
        );
        assert_eq!(
            url.join("/OS-FEDERATION/identity_providers/keycloak/protocols/openid/auth"),
            "http://127.0.0.1:8080/identity/v3/OS-FEDERATION/identity_providers/keycloak/protocols/openid/auth"
        );
    }
}
