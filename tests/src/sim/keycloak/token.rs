//! `POST /realms/{realm}/protocol/openid-connect/token`: the password and refresh grants.
//!
//! Checks run in Keycloak's order: grant type, then client authentication, then the grant.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use opcp_cred_proto::Secret;
use serde_json::{Value, json};

use super::{OAuthError, Realm, realm_not_found};
use crate::sim::State;
use crate::sim::counters::Counter;
use crate::sim::fixture::{ClientSpec, UserSpec};
use crate::sim::ids;

const BAD_CLIENT: &str = "Invalid client or Invalid client credentials";

/// A login: what a refresh token's `sid` points to.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    username: String,
    client_id: String,
    scope: String,
    /// When the password grant made it (the simulator's clock, seconds).
    started: i64,
}

type Form = HashMap<String, String>;

pub(super) async fn token(
    AxumState(state): AxumState<Arc<State>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(realm) = state.keycloak.get(&realm) else {
        return realm_not_found();
    };
    let form: Form = url::form_urlencoded::parse(&body).into_owned().collect();
    let outcome = match form.get("grant_type").map(String::as_str) {
        None => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing form parameter: grant_type",
        )),
        Some("password") => {
            let outcome = password_grant(&state, realm, &headers, &form);
            state.counters.bump(if outcome.is_ok() {
                Counter::PasswordGrantOk
            } else {
                Counter::PasswordGrantFailed
            });
            outcome
        }
        Some("refresh_token") => {
            state.counters.bump(Counter::RefreshGrant);
            refresh_grant(&state, realm, &headers, &form)
        }
        Some(_) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        )),
    };
    outcome.unwrap_or_else(IntoResponse::into_response)
}

fn password_grant(
    state: &State,
    realm: &Realm,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, OAuthError> {
    let client = authenticate_client(realm, headers, form)?;
    if !client.direct_access_grants {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "Client not allowed for direct access grants",
        ));
    }
    let username = form.get("username").map_or("", String::as_str);
    let password = form.get("password").map_or("", String::as_str);
    let user = realm
        .user(username)
        .filter(|user| user.password.expose() == password)
        .ok_or_else(|| {
            OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "Invalid user credentials",
            )
        })?;
    if user.required_actions {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Account is not fully set up",
        ));
    }
    let session_id = ids::uuid();
    let session = Session {
        username: user.username.clone(),
        client_id: client.client_id.clone(),
        scope: granted_scope(form.get("scope").map(String::as_str)),
        started: state.clock.now(),
    };
    let mut sessions = state.keycloak.sessions.lock().expect("never poisoned");
    sessions.insert(session_id.clone(), session.clone());
    Ok(issue(state, realm, &user, &session, &session_id))
}

fn refresh_grant(
    state: &State,
    realm: &Realm,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, OAuthError> {
    let client = authenticate_client(realm, headers, form)?;
    let invalid =
        |description| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", description);
    let presented = form.get("refresh_token").ok_or_else(|| {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing parameter: refresh_token",
        )
    })?;
    let claims = realm
        .key
        .verify(presented)
        .filter(|claims| claims["typ"] == "Refresh" && claims["iss"] == realm.issuer.as_str())
        .ok_or_else(|| invalid("Invalid refresh token"))?;
    if claims["exp"].as_i64().unwrap_or(0) <= state.clock.now() {
        return Err(invalid("Token is not active"));
    }
    let session_id = claims["sid"].as_str().unwrap_or_default();
    let session = {
        let sessions = state.keycloak.sessions.lock().expect("never poisoned");
        sessions.get(session_id).cloned()
    };
    let session = session.ok_or_else(|| invalid("Token is not active"))?;
    if session.client_id != client.client_id {
        return Err(invalid(
            "Invalid refresh token. Token client and authorized client don't match",
        ));
    }
    let user = realm
        .user(&session.username)
        .ok_or_else(|| invalid("User not found"))?;
    Ok(issue(state, realm, &user, &session, session_id))
}

/// Authenticates the client by `client_secret_basic` or `client_secret_post` (form values
/// win, as in Keycloak). An unknown client is `invalid_client`; a wrong or missing secret
/// is `unauthorized_client`: both 401 with the same description.
fn authenticate_client<'r>(
    realm: &'r Realm,
    headers: &HeaderMap,
    form: &Form,
) -> Result<&'r ClientSpec, OAuthError> {
    let (basic_id, basic_secret) = basic_credentials(headers).unzip();
    let client_id = form.get("client_id").cloned().or(basic_id).ok_or_else(|| {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Missing client_id parameter",
        )
    })?;
    let secret = form
        .get("client_secret")
        .map(|secret| Secret::new(secret.as_str()))
        .or(basic_secret);
    let client = realm
        .clients
        .get(&client_id)
        .ok_or_else(|| OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", BAD_CLIENT))?;
    if secret.as_ref() != Some(&client.secret) {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            BAD_CLIENT,
        ));
    }
    Ok(client)
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, Secret)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), Secret::new(form_decode(secret))))
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, decoded)| decoded.into_owned())
        .unwrap_or_default()
}

/// The scope Keycloak grants: the client's default scopes, plus `openid` when asked.
fn granted_scope(requested: Option<&str>) -> String {
    let openid = requested.is_some_and(|scope| scope.split(' ').any(|s| s == "openid"));
    if openid {
        "openid profile email".to_owned()
    } else {
        "profile email".to_owned()
    }
}

fn issue(
    state: &State,
    realm: &Realm,
    user: &UserSpec,
    session: &Session,
    session_id: &str,
) -> Response {
    let now = state.clock.now();
    let lifetimes = &state.lifetimes;
    let common = json!({
        "iat": now,
        "iss": realm.issuer,
        "sub": ids::stable_hex(&[&realm.name, &user.username]),
        "azp": session.client_id,
        "sid": session_id,
    });
    let access = realm.key.sign(&with(
        &common,
        json!({
            "exp": now + lifetimes.access,
            "jti": ids::uuid(),
            "aud": session.client_id,
            "typ": "Bearer",
            "session_state": session_id,
            "scope": session.scope,
            "preferred_username": user.username,
            "email_verified": false,
            "projects": user.projects,
        }),
    ));
    // As Keycloak: the idle timeout from now, but never past the session's maximum.
    let refresh_exp = (now + lifetimes.refresh).min(session.started + lifetimes.session_max);
    let refresh = realm.key.sign(&with(
        &common,
        json!({
            "exp": refresh_exp,
            "jti": ids::uuid(),
            "aud": realm.issuer,
            "typ": "Refresh",
            "scope": session.scope,
        }),
    ));
    let mut body = json!({
        "access_token": access,
        "expires_in": lifetimes.access,
        "refresh_expires_in": refresh_exp - now,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "session_state": session_id,
        "scope": session.scope,
    });
    if session.scope.split(' ').any(|s| s == "openid") {
        body["id_token"] = realm
            .key
            .sign(&with(
                &common,
                json!({
                    "exp": now + lifetimes.access,
                    "jti": ids::uuid(),
                    "aud": session.client_id,
                    "typ": "ID",
                    "preferred_username": user.username,
                }),
            ))
            .into();
    }
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ];
    (headers, Json(body)).into_response()
}

/// `base` with the fields of `extra` added.
fn with(base: &Value, extra: Value) -> Value {
    let mut merged = base.clone();
    if let (Some(merged), Value::Object(extra)) = (merged.as_object_mut(), extra) {
        merged.extend(extra);
    }
    merged
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::{basic_credentials, granted_scope};

    #[test]
    fn parses_basic_credentials_with_form_encoding() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("my%20client:s%3Acret+x");
        let value = HeaderValue::from_str(&format!("Basic {encoded}")).unwrap();
        headers.insert(header::AUTHORIZATION, value);
        let (id, secret) = basic_credentials(&headers).unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret.expose(), "s:cret x");
    }

    #[test]
    fn grants_openid_only_when_asked() {
        assert_eq!(
            granted_scope(Some("openid profile")),
            "openid profile email"
        );
        assert_eq!(granted_scope(None), "profile email");
    }
}
