//! Keycloak over OpenID Connect: discovery, the password and refresh grants, and the
//! `projects` claim used to word Keystone's refusals.
//!
//! Keycloak's error bodies become [`OidcError`]s a person can act on ([`error`] holds the
//! table). Secrets only travel inside [`Secret`]; the form bodies are never logged.

use std::time::Duration;

use base64::Engine as _;
use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::ClientAuth;
use serde::Deserialize;

use crate::clock::MAX_LIFETIME;
use crate::http;

mod error;
#[cfg(test)]
mod tests;

pub use error::OidcError;

const KEYCLOAK: &str = "keycloak";

/// What discovery tells about a realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub token_endpoint: String,
    /// From the issuer's path `/realms/<realm>` (or the discovery URL's); used in messages.
    pub realm: Option<String>,
}

impl Discovery {
    /// "keycloak realm `pod`", or the issuer when the URL names no realm.
    pub fn label(&self) -> String {
        match &self.realm {
            Some(realm) => format!("keycloak realm `{realm}`"),
            None => format!("keycloak at `{}`", self.issuer),
        }
    }
}

/// `GET <discovery_endpoint>`: the realm's issuer and token endpoint.
pub async fn discover(
    http: &reqwest::Client,
    discovery_endpoint: &str,
) -> Result<Discovery, OidcError> {
    let answer = get_discovery(http, discovery_endpoint)
        .await
        .map_err(|err| OidcError::discovery_send(discovery_endpoint, err))?;
    read_discovery(discovery_endpoint, &answer)
}

/// The discovery request alone, its answer as it came: `doctor` tells a TLS failure from an
/// unreachable host, and reads the server's `Date`, before [`read_discovery`].
pub async fn get_discovery(
    http: &reqwest::Client,
    discovery_endpoint: &str,
) -> Result<http::Answer, http::SendError> {
    http::send(KEYCLOAK, discovery_endpoint, http.get(discovery_endpoint)).await
}

/// The discovery document in `answer`, checked.
pub fn read_discovery(
    discovery_endpoint: &str,
    answer: &http::Answer,
) -> Result<Discovery, OidcError> {
    let failed = |reason: String| OidcError::DiscoveryFailed {
        url: discovery_endpoint.to_owned(),
        reason,
    };
    if answer.status.is_server_error() {
        return Err(OidcError::Unavailable {
            url: discovery_endpoint.to_owned(),
            status: answer.status,
        });
    }
    if !answer.status.is_success() {
        return Err(failed(format!("keycloak answered {}", answer.status)));
    }
    let doc: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|_| failed("the answer is not JSON".into()))?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let token_endpoint = field("token_endpoint")
        .ok_or_else(|| failed("the answer has no `token_endpoint`".into()))?;
    url::Url::parse(&token_endpoint)
        .map_err(|_| failed(format!("`token_endpoint` is not a URL: `{token_endpoint}`")))?;
    let issuer = field("issuer").ok_or_else(|| failed("the answer has no `issuer`".into()))?;
    let realm = realm_in(&issuer).or_else(|| realm_in(discovery_endpoint));
    Ok(Discovery {
        issuer,
        token_endpoint,
        realm,
    })
}

/// The segment after `realms` in a Keycloak URL (`…/realms/pod/…`, also `…/auth/realms/pod`).
fn realm_in(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let mut segments = url.path_segments()?;
    segments.find(|s| *s == "realms")?;
    segments.next().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// What a successful grant returns.
#[derive(Debug, Clone)]
pub struct OidcTokens {
    pub access_token: Secret,
    pub expires_in: Duration,
    pub refresh_token: Option<Secret>,
    /// `None` when not sent, or 0 (Keycloak's "does not expire", e.g. offline tokens).
    pub refresh_expires_in: Option<Duration>,
}

/// The confidential client of the profile.
#[derive(Debug, Clone, Copy)]
pub struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    pub auth: ClientAuth,
    pub scope: &'a str,
}

/// `grant_type=password`. An [`OidcError::is_rejected_password`] error must not be retried:
/// Keycloak's brute-force protection counts failed password grants.
pub async fn password_grant(
    http: &reqwest::Client,
    disc: &Discovery,
    client: &ClientCredentials<'_>,
    username: &str,
    password: &Secret,
) -> Result<OidcTokens, OidcError> {
    token_request(http, disc, client, Grant::Password { username, password }).await
}

/// `grant_type=refresh_token`: no password sent, no brute-force counter touched.
pub async fn refresh_grant(
    http: &reqwest::Client,
    disc: &Discovery,
    client: &ClientCredentials<'_>,
    refresh_token: &Secret,
) -> Result<OidcTokens, OidcError> {
    token_request(http, disc, client, Grant::Refresh { refresh_token }).await
}

#[derive(Clone, Copy)]
enum Grant<'a> {
    Password {
        username: &'a str,
        password: &'a Secret,
    },
    Refresh {
        refresh_token: &'a Secret,
    },
}

/// Keycloak's token response; fields we do not use are ignored.
#[derive(Deserialize)]
struct TokenReply {
    access_token: Secret,
    expires_in: u64,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    refresh_expires_in: Option<u64>,
}

async fn token_request(
    http: &reqwest::Client,
    disc: &Discovery,
    client: &ClientCredentials<'_>,
    grant: Grant<'_>,
) -> Result<OidcTokens, OidcError> {
    let url = disc.token_endpoint.as_str();
    let answer = http::send(KEYCLOAK, url, token_form(http.post(url), client, grant)).await?;
    if !answer.status.is_success() {
        return Err(OidcError::from_refusal(&answer, disc, client, grant));
    }
    let lie = || OidcError::BadAnswer {
        url: url.to_owned(),
        status: answer.status,
    };
    // The parse error is not kept: serde quotes the offending value, which may be a token.
    let reply: TokenReply = serde_json::from_slice(&answer.body).map_err(|_| lie())?;
    if reply.access_token.is_empty() {
        return Err(lie());
    }
    Ok(OidcTokens {
        access_token: reply.access_token,
        expires_in: Duration::from_secs(reply.expires_in).min(MAX_LIFETIME),
        refresh_token: reply.refresh_token.filter(|t| !t.is_empty()),
        refresh_expires_in: reply
            .refresh_expires_in
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s).min(MAX_LIFETIME)),
    })
}

/// The form of a grant plus the client's authentication.
fn token_form(
    request: reqwest::RequestBuilder,
    client: &ClientCredentials<'_>,
    grant: Grant<'_>,
) -> reqwest::RequestBuilder {
    let mut form: Vec<(&str, &str)> = match grant {
        Grant::Password { username, password } => vec![
            ("grant_type", "password"),
            ("username", username),
            ("password", password.expose()),
            ("scope", client.scope),
        ],
        Grant::Refresh { refresh_token } => {
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ]
        }
    };
    match client.auth {
        ClientAuth::Basic => {
            // RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
            let id = Secret::new(form_encode(client.client_id));
            let secret = Secret::new(form_encode(client.client_secret.expose()));
            request
                .basic_auth(id.expose(), Some(secret.expose()))
                .form(&form)
        }
        ClientAuth::Post => {
            form.push(("client_id", client.client_id));
            form.push(("client_secret", client.client_secret.expose()));
            request.form(&form)
        }
    }
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `projects` claim of an access token (JWT payload decoded without verification; it is
/// only used to word error messages). None when absent or not a JWT.
pub fn projects_claim(access_token: &Secret) -> Option<Vec<String>> {
    let payload = access_token.expose().split('.').nth(1)?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let json = engine.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&json).ok()?;
    match claims.get("projects")? {
        // A single-valued user attribute mapper sends a string, a multivalued one a list.
        serde_json::Value::String(one) => Some(vec![one.clone()]),
        serde_json::Value::Array(many) => Some(
            many.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}
