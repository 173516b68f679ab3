//! The outbound HTTPS client of a profile, and what a failed request means to the user.
//!
//! [`client_for`] builds one `reqwest` client per profile: rustls with the `ring` provider,
//! the system roots plus the profile's `cacert`, its `proxy` (or the usual `https_proxy` /
//! `no_proxy` variables), bounded timeouts and no redirects. [`send`] runs one request for
//! [`oidc`](crate::oidc) or [`keystone`](crate::keystone) and turns a request that got no HTTP
//! answer into a [`SendError`] that says whether TLS, a timeout or the network is to blame.

use std::sync::Once;
use std::time::{Duration, SystemTime};

use opcp_cred_proto::messages::ProfileConfig;
use opcp_cred_proto::{ErrorKind, Secret};
use reqwest::header::{HeaderMap, HeaderValue, InvalidHeaderValue};
use reqwest::{Certificate, StatusCode};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::Actionable;
use crate::small_file;

#[cfg(test)]
pub(crate) mod stub;
#[cfg(test)]
mod tests;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const USER_AGENT: &str = concat!("opcp-credd/", env!("CARGO_PKG_VERSION"));
const TLS_HINT: &str = "set `cacert` for the profile (or OS_CACERT on import)";
const NOT_TLS_HINT: &str =
    "the server does not speak TLS there: use `http://` if it serves plain HTTP, or the right port";
/// A CA bundle of every public CA is about 200 KiB.
const MAX_CACERT_BYTES: u64 = 4 << 20;
/// Upstream error texts are quoted in messages; a proxy's HTML page must not flood them.
const MAX_QUOTE: usize = 300;

/// Why the client of a profile cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot read the cacert file `{path}`: {reason}")]
    CaCertUnreadable { path: String, reason: String },
    #[error("the cacert file `{path}` holds no PEM certificate")]
    CaCertEmpty { path: String },
    #[error("the cacert file `{path}` holds an invalid certificate: {reason}")]
    CaCertInvalid { path: String, reason: String },
    /// The URL is not repeated: it may carry proxy credentials.
    #[error("the `proxy` of the profile is not a valid proxy URL: {reason}")]
    Proxy { reason: String },
    #[error("cannot set up the https client: {reason}")]
    Build { reason: String },
}

impl Actionable for HttpError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Build { .. } => ErrorKind::Tls,
            _ => ErrorKind::ConfigInvalid,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::CaCertUnreadable { .. }
            | Self::CaCertEmpty { .. }
            | Self::CaCertInvalid { .. } => {
                "point `cacert` of the profile to a PEM file of CA certificates \
                 (or fix OS_CACERT and import again)"
                    .to_owned()
            }
            Self::Proxy { .. } => {
                "set `proxy` to a URL such as `http://proxy.example.test:3128`".to_owned()
            }
            Self::Build { .. } => format!(
                "install the system CA certificates (the ca-certificates package) or {TLS_HINT}"
            ),
        })
    }
}

/// The client for one profile's Keycloak and Keystone.
pub fn client_for(profile: &ProfileConfig) -> Result<reqwest::Client, HttpError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        // A redirect would resend `X-Auth-Token` or a token in a POST body to wherever the
        // `Location` points; reqwest only strips the standard auth headers. Nothing we call
        // needs one, so a 3xx is reported with its status instead.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = &profile.cacert {
        builder = builder.tls_certs_merge(read_cacert(path)?);
    }
    if profile.insecure {
        tracing::warn!(
            "tls certificate verification is disabled for this profile (`insecure = true`)"
        );
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    // Without an explicit proxy, reqwest 0.13 (hyper-util's matcher) reads the variables
    // itself, with no feature needed: HTTPS_PROXY/https_proxy for https URLs,
    // HTTP_PROXY/http_proxy for http, ALL_PROXY/all_proxy for both, NO_PROXY/no_proxy for the
    // exceptions, upper case first. Its `system-proxy`
    // feature only adds the macOS and Windows settings. They are read when a client is
    // built, i.e. per profile state: a daemon sees the variables it was started with.
    if let Some(proxy) = &profile.proxy {
        // With an explicit proxy, `no_proxy` would be dropped, so it is carried over.
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|err| HttpError::Proxy {
                reason: chain_text(&err),
            })?
            .no_proxy(reqwest::NoProxy::from_env());
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|err| HttpError::Build {
        reason: chain_text(&err),
    })
}

/// reqwest is built without a default crypto provider: the process uses `ring`, installed once.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another provider is already the process default: that one works too.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One or several PEM certificates, each checked now so that a bad file is named at once
/// rather than surfacing as a vague builder error.
fn read_cacert(path: &str) -> Result<Vec<Certificate>, HttpError> {
    let (pem, _) = small_file::read(path.as_ref(), MAX_CACERT_BYTES).map_err(|err| {
        HttpError::CaCertUnreadable {
            path: path.to_owned(),
            reason: err.to_string(),
        }
    })?;
    let invalid = |reason: String| HttpError::CaCertInvalid {
        path: path.to_owned(),
        reason,
    };
    let ders = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(err.to_string()))?;
    if ders.is_empty() {
        return Err(HttpError::CaCertEmpty {
            path: path.to_owned(),
        });
    }
    let mut check = rustls::RootCertStore::empty();
    ders.into_iter()
        .map(|der| {
            check
                .add(der.clone())
                .map_err(|err| invalid(err.to_string()))?;
            Certificate::from_der(&der).map_err(|err| invalid(chain_text(&err)))
        })
        .collect()
}

/// What went wrong with a request that got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The TLS handshake failed, most often because the certificate is not trusted.
    Tls,
    Timeout,
    /// Connection refused, host unknown or unreachable.
    Unreachable,
    /// Anything else, e.g. the connection was dropped before an answer.
    Other,
}

/// Sorts a reqwest error by what the user can do about it.
pub fn classify(err: &reqwest::Error) -> Transport {
    if causes(err).any(is_tls) {
        Transport::Tls
    } else if err.is_timeout() {
        Transport::Timeout
    } else if err.is_connect() {
        Transport::Unreachable
    } else {
        Transport::Other
    }
}

/// The error and its causes, outermost first.
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    // A TLS failure arrives as `io::Error(Other, io::Error(InvalidData, rustls::Error))`, and
    // `io::Error::source` skips the error it wraps: step into wrapped errors explicitly.
    std::iter::successors(Some(err), |e| {
        e.downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .map(|inner| inner as &(dyn std::error::Error + 'static))
            .or_else(|| e.source())
    })
}

fn is_tls(err: &(dyn std::error::Error + 'static)) -> bool {
    err.is::<rustls::Error>()
}

/// The peer answered the handshake with something that is not TLS: an `https://` URL for a
/// plain HTTP server, most likely.
fn is_not_tls(err: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        err.downcast_ref::<rustls::Error>(),
        Some(rustls::Error::InvalidMessage(_))
    )
}

/// The innermost cause of an error: "connection refused (os error 111)" rather than reqwest's
/// "error sending request for url (…)".
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let innermost = causes(err)
        .last()
        .map_or_else(String::new, ToString::to_string);
    lower_first(&innermost)
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// A request to `upstream` ("keycloak", "keystone") that got no HTTP answer.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message())]
pub struct SendError {
    pub upstream: &'static str,
    pub url: String,
    pub transport: Transport,
    detail: String,
    /// A TLS failure because the server speaks something else.
    not_tls: bool,
}

impl SendError {
    pub fn new(upstream: &'static str, url: &str, err: &reqwest::Error) -> Self {
        Self {
            upstream,
            url: url.to_owned(),
            transport: classify(err),
            detail: chain_text(err),
            not_tls: causes(err).any(is_not_tls),
        }
    }

    /// The innermost cause, e.g. "connection refused (os error 111)".
    pub fn detail(&self) -> &str {
        &self.detail
    }

    fn message(&self) -> String {
        let Self {
            upstream,
            url,
            detail,
            ..
        } = self;
        match self.transport {
            Transport::Tls => format!("tls handshake with {upstream} at `{url}` failed: {detail}"),
            Transport::Timeout => format!("{upstream} at `{url}` did not answer in time"),
            Transport::Unreachable => format!("cannot connect to {upstream} at `{url}`: {detail}"),
            Transport::Other => format!("the request to {upstream} at `{url}` failed: {detail}"),
        }
    }
}

impl Actionable for SendError {
    fn kind(&self) -> ErrorKind {
        match self.transport {
            Transport::Tls => ErrorKind::Tls,
            _ => ErrorKind::UpstreamUnavailable,
        }
    }

    fn hint(&self) -> Option<String> {
        match self.transport {
            Transport::Tls if self.not_tls => Some(NOT_TLS_HINT.to_owned()),
            Transport::Tls => Some(TLS_HINT.to_owned()),
            Transport::Unreachable => {
                // The profile's setting the URL comes from, so the fix names what to edit.
                let setting = match self.upstream {
                    "keystone" => "the profile's `auth_url`",
                    "keycloak" => "the profile's `discovery_endpoint`",
                    _ => "the URL",
                };
                Some(format!(
                    "check {setting} (host and port), the network and the proxy (`proxy`, https_proxy)"
                ))
            }
            Transport::Timeout | Transport::Other => None,
        }
    }
}

/// An HTTP answer, body read in full. `Debug` leaves the body out: it may hold a token.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Sends `request` (built for `url`) and reads the whole answer.
/// Token answers with a large service catalog are a few hundred KiB; nothing Keycloak or
/// Keystone sends us comes near this.
const MAX_ANSWER_BYTES: usize = 8 << 20;

pub async fn send(
    upstream: &'static str,
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<Answer, SendError> {
    let fail = |err: reqwest::Error| SendError::new(upstream, url, &err);
    let response = request.send().await.map_err(fail)?;
    let status = response.status();
    tracing::debug!(upstream, url, status = status.as_u16(), "upstream answered");
    let headers = response.headers().clone();
    let mut response = response;
    let mut body = Vec::new();
    // Read in chunks, so that an upstream that sends gigabytes is cut off, not buffered.
    while let Some(chunk) = response.chunk().await.map_err(fail)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SendError {
                upstream,
                url: url.to_owned(),
                transport: Transport::Other,
                detail: format!("the answer is larger than {} MiB", MAX_ANSWER_BYTES >> 20),
                not_tls: false,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// The server's clock when it answered: its `Date` header (second precision), if readable.
pub fn server_date(headers: &HeaderMap) -> Option<SystemTime> {
    headers
        .get(reqwest::header::DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| httpdate::parse_http_date(value).ok())
}

/// A header carrying a token, marked sensitive so that it never shows in `Debug` output.
const REDACTED: &str = "<redacted>";

fn mask_encoded_credentials(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    let looks_encoded = |run: &str| {
        run.len() >= 20
            && run.contains(|c: char| c.is_ascii_uppercase())
            && run.contains(|c: char| c.is_ascii_lowercase())
            && run.contains(|c: char| c.is_ascii_digit())
    };
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_b64(c) {
            run.push(c);
            continue;
        }
        out.push_str(if looks_encoded(&run) { REDACTED } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

pub fn secret_header(secret: &Secret) -> Result<HeaderValue, InvalidHeaderValue> {
    let mut value = HeaderValue::from_str(secret.expose())?;
    value.set_sensitive(true);
    Ok(value)
}

/// Upstream text fit to quote in an error message: the secrets sent with the request are
/// masked (Keystone echoes token ids in "could not find token" messages), as sent and as
/// form-encoded; so is anything that looks like an encoded credential (a long run of base64
/// with upper case, lower case and digits, e.g. an echoed `Authorization: Basic` value). The
/// first letter is lower-cased and the length bounded.
pub fn quote(text: &str, sent: &[&Secret]) -> String {
    let mut text = text.trim().to_owned();
    for secret in sent.iter().filter(|s| !s.is_empty()) {
        let encoded: String =
            url::form_urlencoded::byte_serialize(secret.expose().as_bytes()).collect();
        text = text
            .replace(secret.expose(), REDACTED)
            .replace(&encoded, REDACTED);
    }
    text = mask_encoded_credentials(&text);
    if let Some((cut, _)) = text.char_indices().nth(MAX_QUOTE) {
        text.truncate(cut);
        text.push('…');
    }
    lower_first(&text)
}
