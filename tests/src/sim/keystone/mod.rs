//! Keystone v3, the parts a federated CLI login touches: version discovery (here), the
//! federation and token API ([`handlers`]), the token store and token bodies ([`tokens`]),
//! and mod_auth_openidc in front of the federation auth path ([`front_door`]).
//!
//! Every route lives under the configured prefix (e.g. `/identity`). Errors use Keystone's
//! body `{"error": {"code", "message", "title"}}`, and a 401 carries
//! `WWW-Authenticate: Keystone uri="…/v3"` as Keystone's `render_exception` adds it.

mod front_door;
mod handlers;
mod tokens;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub(crate) use self::tokens::TokenStore;
use super::counters::Counter;
use super::fixture::{IdpSpec, ProjectSpec};
use super::{RescopeExpiry, State};

/// Keystone's configuration and data.
#[derive(Debug)]
pub(crate) struct Keystone {
    /// "" or a path starting with `/` and not ending with one.
    pub(crate) prefix: String,
    pub(crate) projects: Vec<ProjectSpec>,
    pub(crate) idps: Vec<IdpSpec>,
    pub(crate) tokens: TokenStore,
    pub(crate) rescope_expiry: RescopeExpiry,
}

/// `[auth] methods` of an OPCP Keystone.
pub(crate) const AUTH_METHODS: [&str; 3] = ["password", "token", "openid"];

/// Werkzeug's page for a route Keystone's Flask app does not have.
const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n\
<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL \
manually please check your spelling and try again.</p>\n";

pub(crate) fn router(state: Arc<State>) -> Router {
    let prefix = state.keystone.prefix.clone();
    let at = |path: &str| format!("{prefix}{path}");
    let mut router = Router::new()
        .route(&at("/"), get(versions))
        .route(&at("/v3"), get(version_v3))
        .route(&at("/v3/"), get(version_v3))
        .route(
            &at("/v3/auth/tokens"),
            get(handlers::validate)
                .post(handlers::scope)
                .delete(handlers::revoke),
        )
        .route(&at("/v3/auth/projects"), get(handlers::projects))
        .route(&at("/v3/projects"), get(handlers::all_projects))
        .route(
            &at("/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth"),
            get(handlers::federation_auth).post(handlers::federation_auth),
        );
    if !prefix.is_empty() {
        router = router.route(&prefix, get(versions));
    }
    router
        .fallback(not_found)
        .layer(axum::middleware::map_response(keystone_headers))
        // Outermost: its 401s are Apache's and carry none of Keystone's headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            front_door::front_door,
        ))
        .with_state(state)
}

/// The base URL as the client reached it: scheme, `Host` header, prefix. Keystone builds
/// version links and `WWW-Authenticate` from the request the same way.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub(crate) base: String,
}

impl FromRequestParts<Arc<State>> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<State>,
    ) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map_or_else(|| state.keystone_addr.to_string(), str::to_owned);
        Ok(Self {
            base: format!("{}://{host}{}", state.scheme, state.keystone.prefix),
        })
    }
}

/// A Keystone error reply.
pub(crate) fn error(origin: &Origin, status: StatusCode, message: &str) -> Response {
    error_reply(origin, status, error_document(status, message))
}

fn error_reply(origin: &Origin, status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!("Keystone uri=\"{}/v3\"", origin.base);
        if let Ok(challenge) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
    }
    response
}

/// The 401 Keystone gives for any authentication or authorisation failure it does not want
/// to detail (wrong token, unknown project, no role on the project).
pub(crate) fn unauthorized(origin: &Origin) -> Response {
    error(
        origin,
        StatusCode::UNAUTHORIZED,
        "The request you have made requires authentication.",
    )
}

/// A method not in `[auth] methods`: Keystone lists the ones it has.
pub(crate) fn unsupported_method(origin: &Origin) -> Response {
    let status = StatusCode::UNAUTHORIZED;
    let mut body = error_document(
        status,
        "Attempted to authenticate with an unsupported method.",
    );
    body["error"]["identity"] = json!({ "methods": AUTH_METHODS });
    error_reply(origin, status, body)
}

fn error_document(status: StatusCode, message: &str) -> Value {
    json!({
        "error": {
            "code": status.as_u16(),
            "message": message,
            "title": status.canonical_reason().unwrap_or("Error"),
        }
    })
}

/// The reply to a `Status` fault, shaped like Keystone's errors.
pub(crate) fn status_fault(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::SERVICE_UNAVAILABLE => "The service is temporarily unavailable.",
        _ => "An unexpected error prevented the server from fulfilling your request.",
    };
    (status, Json(error_document(status, message))).into_response()
}

async fn not_found() -> Response {
    let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    (StatusCode::NOT_FOUND, headers, NOT_FOUND_PAGE).into_response()
}

/// Headers every Keystone reply carries.
async fn keystone_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("X-Auth-Token"));
    let request_id = format!("req-{}", super::ids::uuid());
    headers.insert(
        "x-openstack-request-id",
        HeaderValue::from_str(&request_id).expect("a request id is a valid header value"),
    );
    response
}

/// `GET {prefix}/`: 300 Multiple Choices listing the one version, as Keystone answers.
async fn versions(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    origin: Origin,
) -> Response {
    state.counters.bump(Counter::VersionDocs);
    let body = json!({ "versions": { "values": [v3_document(&origin)] } });
    let location = format!("{}/v3/", origin.base);
    let headers = [(header::LOCATION, location)];
    (StatusCode::MULTIPLE_CHOICES, headers, Json(body)).into_response()
}

/// `GET {prefix}/v3`.
async fn version_v3(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    origin: Origin,
) -> Response {
    state.counters.bump(Counter::VersionDocs);
    Json(json!({ "version": v3_document(&origin) })).into_response()
}

fn v3_document(origin: &Origin) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{ "rel": "self", "href": format!("{}/v3/", origin.base) }],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"
        }],
    })
}
