//! What Apache's mod_auth_openidc does in front of Keystone's federation auth path in an OPCP
//! deployment (`AuthType oauth20` on `…/identity_providers/*/protocols/openid/auth`): the
//! bearer token must be a JWT signed by a trusted realm and not expired, or Apache answers
//! 401 itself, with a `Bearer` challenge and its own HTML page, before Keystone sees the
//! request. A valid token's claims go on to Keystone ([`Claims`]), which tells the identity
//! providers apart by the `iss` claim (`[openid] remote_id_attribute`).
//!
//! tests/keystone/oidc_middleware.py does the same in front of the real Keystone; the two
//! give the same answers (tests/tests/sim_fidelity.rs).

use std::sync::Arc;

use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::sim::State;

/// The protocol whose auth path the front door guards.
const GUARDED_PROTOCOL: &str = "openid";
const REALM: &str = "openstack";
/// Apache's page for a 401.
const UNAUTHORIZED_PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n\
<html><head>\n\
<title>401 Unauthorized</title>\n\
</head><body>\n\
<h1>Unauthorized</h1>\n\
<p>This server could not verify that you\n\
are authorized to access the document\n\
requested.  Either you supplied the wrong\n\
credentials (e.g., bad password), or your\n\
browser doesn't understand how to supply\n\
the credentials required.</p>\n\
</body></html>\n";

/// The claims of a bearer token the front door accepted.
#[derive(Clone, Debug)]
pub(crate) struct Claims(pub(crate) Value);

/// Why the front door refused a request.
enum Refusal {
    NoToken,
    Expired,
    Unverified,
}

pub(crate) async fn front_door(
    AxumState(state): AxumState<Arc<State>>,
    mut request: Request,
    next: Next,
) -> Response {
    if !guarded(&state.keystone.prefix, request.uri().path()) {
        return next.run(request).await;
    }
    match bearer_claims(&state, &request) {
        Ok(claims) => {
            request.extensions_mut().insert(Claims(claims));
            next.run(request).await
        }
        Err(refusal) => unauthorized(&refusal),
    }
}

/// `{prefix}/v3/OS-FEDERATION/identity_providers/{idp}/protocols/openid/auth`.
fn guarded(prefix: &str, path: &str) -> bool {
    let Some(rest) = path.strip_prefix(prefix) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "v3", "OS-FEDERATION", "identity_providers", idp, "protocols", protocol, "auth"]
            if !idp.is_empty() && *protocol == GUARDED_PROTOCOL
    )
}

/// The claims of a JWT that one of the realms signed (its issuer being that realm) and that
/// has not expired.
fn bearer_claims(state: &State, request: &Request) -> Result<Value, Refusal> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(Refusal::NoToken)?;
    let (scheme, token) = bearer.split_once(' ').ok_or(Refusal::NoToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Refusal::NoToken);
    }
    let claims = state
        .keycloak
        .all()
        .find_map(|realm| {
            realm
                .key()
                .verify(token.trim())
                .filter(|claims| claims["iss"] == realm.issuer())
        })
        .ok_or(Refusal::Unverified)?;
    if claims["exp"].as_i64().unwrap_or(0) <= state.clock.now() {
        return Err(Refusal::Expired);
    }
    Ok(claims)
}

fn unauthorized(refusal: &Refusal) -> Response {
    let description = match refusal {
        Refusal::NoToken => None,
        Refusal::Expired => Some("the token has expired"),
        Refusal::Unverified => Some("the token could not be verified"),
    };
    let challenge = match description {
        None => format!("Bearer realm=\"{REALM}\""),
        Some(description) => format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{description}\""
        ),
    };
    let mut response = (StatusCode::UNAUTHORIZED, UNAUTHORIZED_PAGE).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).expect("an ASCII challenge"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=iso-8859-1"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::guarded;

    #[test]
    fn guards_the_openid_auth_path_only() {
        let path = "/v3/OS-FEDERATION/identity_providers/keycloak/protocols/openid/auth";
        assert!(guarded("", path));
        assert!(guarded("/identity", &format!("/identity{path}")));
        assert!(!guarded("/identity", path));
        assert!(!guarded("", &path.replace("openid", "saml2")));
        assert!(!guarded("", "/v3/auth/tokens"));
    }
}
