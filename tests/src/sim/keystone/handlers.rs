//! Keystone's federation and token API: federated login, (re)scoping, validation,
//! revocation and the projects a token may scope to.
//!
//! Behaviour checked against Keystone's sources (`keystone/api/auth.py`,
//! `auth/plugins/token.py`, `auth/plugins/mapped.py`, `token/provider.py`): scoping to an
//! unknown project or to one without a role is a bare 401; an unusable subject token is a
//! 404 "Could not find token" on `GET` and a 401 when used to authenticate.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::tokens::{FederatedUser, TokenRecord, domain_name, render};
use super::{Origin, error, unauthorized};
use crate::sim::State;
use crate::sim::counters::Counter;
use crate::sim::fixture::ProjectSpec;
use crate::sim::ids;

const X_AUTH_TOKEN: &str = "x-auth-token";
const X_SUBJECT_TOKEN: &str = "x-subject-token";

type Params = Query<HashMap<String, String>>;

/// `GET|POST {prefix}/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`
/// with `Authorization: Bearer <Keycloak access token>`: 201 and an unscoped token.
pub(super) async fn federation_auth(
    AxumState(state): AxumState<Arc<State>>,
    Path((idp, protocol)): Path<(String, String)>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    state.counters.bump(Counter::FederationAuth);
    let Some(spec) = state.keystone.idps.iter().find(|spec| spec.id == idp) else {
        let message = format!("Could not find Identity Provider: {idp}.");
        return error(&origin, StatusCode::NOT_FOUND, &message);
    };
    if spec.protocol != protocol {
        let message =
            format!("Could not find federated protocol {protocol} for Identity Provider: {idp}.");
        return error(&origin, StatusCode::NOT_FOUND, &message);
    }
    let Some(user) = bearer_user(&state, &spec.realm, &idp, &protocol, &headers) else {
        return unauthorized(&origin);
    };
    let lifetime = state.lifetimes.keystone;
    let record = TokenRecord::federated(user, state.clock.now(), lifetime);
    created(&state, &origin, record, false)
}

/// The user of a bearer JWT that `realm` signed, that has not expired and whose issuer is
/// the identity provider's remote id.
fn bearer_user(
    state: &State,
    realm: &str,
    idp: &str,
    protocol: &str,
    headers: &HeaderMap,
) -> Option<FederatedUser> {
    let bearer = header_str(headers, header::AUTHORIZATION.as_str())?;
    let jwt = bearer
        .strip_prefix("Bearer ")
        .or_else(|| bearer.strip_prefix("bearer "))?;
    let realm = state.keycloak.get(realm)?;
    let claims = realm.key().verify(jwt.trim())?;
    let fresh = claims["exp"].as_i64().unwrap_or(0) > state.clock.now();
    if !fresh || claims["iss"] != realm.issuer() {
        return None;
    }
    let name = claims["preferred_username"].as_str()?.to_owned();
    let sub = claims["sub"].as_str()?;
    let allowed_projects = claims["projects"]
        .as_array()
        .map(|projects| {
            projects
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(FederatedUser {
        id: ids::stable_hex(&[idp, sub]),
        name,
        idp: idp.to_owned(),
        protocol: protocol.to_owned(),
        allowed_projects,
    })
}

/// `POST {prefix}/v3/auth/tokens` with `methods: ["token"]`: 201 and a token scoped as asked.
pub(super) async fn scope(
    AxumState(state): AxumState<Arc<State>>,
    origin: Origin,
    Query(params): Params,
    body: Bytes,
) -> Response {
    state.counters.bump(Counter::Scope);
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = &request["auth"];
    let Some(methods) = auth["identity"]["methods"].as_array() else {
        let message = "Expecting to find identity in auth. The server could not comply with \
                       the request since it is either malformed or otherwise incorrect. The \
                       client is assumed to be in error.";
        return error(&origin, StatusCode::BAD_REQUEST, message);
    };
    if methods.iter().any(|method| method != "token") || methods.is_empty() {
        let message = "Attempted to authenticate with an unsupported method.";
        return error(&origin, StatusCode::UNAUTHORIZED, message);
    }
    let now = state.clock.now();
    let subject = auth["identity"]["token"]["id"].as_str().unwrap_or_default();
    let Some(source) = state.keystone.tokens.valid(subject, now) else {
        return unauthorized(&origin);
    };
    let project = match requested_project(&state.keystone.projects, &auth["scope"]) {
        Ok(project) => project,
        Err(response) => return response(&origin),
    };
    if project
        .as_ref()
        .is_some_and(|project| !source.allows(project))
    {
        return unauthorized(&origin);
    }
    let (lifetime, policy) = (state.lifetimes.keystone, state.keystone.rescope_expiry);
    let record = source.rescoped(project, now, lifetime, policy);
    created(&state, &origin, record, params.contains_key("nocatalog"))
}

type ErrorFor = fn(&Origin) -> Response;

/// The project `scope` names, `None` for an unscoped request. Keystone turns an unknown
/// project into a 401 (`ProjectNotFound` is re-raised as `Unauthorized`).
fn requested_project(
    projects: &[ProjectSpec],
    scope: &Value,
) -> Result<Option<ProjectSpec>, ErrorFor> {
    if scope.is_null() || scope == "unscoped" {
        return Ok(None);
    }
    let wanted = &scope["project"];
    if !wanted.is_object() {
        // Domain and system scopes exist in Keystone; nobody here has a role on them.
        return Err(unauthorized);
    }
    let found = if let Some(id) = wanted["id"].as_str() {
        projects.iter().find(|project| project.id == id)
    } else {
        let name = wanted["name"].as_str().ok_or(bad_scope as ErrorFor)?;
        let domain = &wanted["domain"];
        let in_domain =
            |project: &&ProjectSpec| match (domain["id"].as_str(), domain["name"].as_str()) {
                (Some(id), _) => project.domain_id == id,
                (None, Some(name)) => domain_name(&project.domain_id) == name,
                (None, None) => false,
            };
        if !domain.is_object() {
            return Err(bad_scope);
        }
        projects
            .iter()
            .filter(in_domain)
            .find(|project| project.name == name)
    };
    found.cloned().map(Some).ok_or(unauthorized)
}

fn bad_scope(origin: &Origin) -> Response {
    let message = "Expecting to find domain in project. The server could not comply with the \
                   request since it is either malformed or otherwise incorrect. The client is \
                   assumed to be in error.";
    error(origin, StatusCode::BAD_REQUEST, message)
}

/// `GET` (and `HEAD`) `{prefix}/v3/auth/tokens`: 200 and the subject token's body.
pub(super) async fn validate(
    AxumState(state): AxumState<Arc<State>>,
    origin: Origin,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    state.counters.bump(Counter::Validate);
    let (subject, record) = match subject_token(&state, &headers) {
        Ok(found) => found,
        Err(rejection) => return rejection.respond(&origin),
    };
    let body = render(&record, &origin.base, !params.contains_key("nocatalog"));
    let mut response = Json(body).into_response();
    insert_subject(&mut response, &subject);
    response
}

/// `DELETE {prefix}/v3/auth/tokens`: 204, the subject token is revoked.
pub(super) async fn revoke(
    AxumState(state): AxumState<Arc<State>>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    state.counters.bump(Counter::Revoke);
    match subject_token(&state, &headers) {
        Ok((subject, _)) => {
            state.keystone.tokens.revoke(&subject);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(rejection) => rejection.respond(&origin),
    }
}

/// Why a `/v3/auth/tokens` request about a subject token was refused.
enum SubjectRejection {
    /// `X-Auth-Token` is missing or unusable.
    Unauthorized,
    /// `X-Subject-Token` is unknown, revoked or expired.
    NotFound(String),
}

impl SubjectRejection {
    fn respond(self, origin: &Origin) -> Response {
        match self {
            Self::Unauthorized => unauthorized(origin),
            Self::NotFound(subject) => {
                let message = format!("Could not find token: {subject}.");
                error(origin, StatusCode::NOT_FOUND, &message)
            }
        }
    }
}

/// The valid `X-Subject-Token`, once `X-Auth-Token` is known to be valid.
fn subject_token(
    state: &State,
    headers: &HeaderMap,
) -> Result<(String, TokenRecord), SubjectRejection> {
    let now = state.clock.now();
    let tokens = &state.keystone.tokens;
    header_str(headers, X_AUTH_TOKEN)
        .and_then(|auth| tokens.valid(auth, now))
        .ok_or(SubjectRejection::Unauthorized)?;
    let subject = header_str(headers, X_SUBJECT_TOKEN).unwrap_or_default();
    let record = tokens
        .valid(subject, now)
        .ok_or_else(|| SubjectRejection::NotFound(subject.to_owned()))?;
    Ok((subject.to_owned(), record))
}

/// `GET {prefix}/v3/auth/projects`: the projects of the user's claim that exist.
pub(super) async fn projects(
    AxumState(state): AxumState<Arc<State>>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    state.counters.bump(Counter::Projects);
    let now = state.clock.now();
    let Some(record) =
        header_str(&headers, X_AUTH_TOKEN).and_then(|auth| state.keystone.tokens.valid(auth, now))
    else {
        return unauthorized(&origin);
    };
    let projects: Vec<Value> = state
        .keystone
        .projects
        .iter()
        .filter(|project| record.allows(project))
        .map(|project| project_entry(project, &origin.base))
        .collect();
    let links = json!({
        "self": format!("{}/v3/auth/projects", origin.base),
        "previous": null,
        "next": null,
    });
    Json(json!({ "projects": projects, "links": links })).into_response()
}

fn project_entry(project: &ProjectSpec, base: &str) -> Value {
    json!({
        "id": project.id,
        "name": project.name,
        "domain_id": project.domain_id,
        "description": "",
        "enabled": true,
        "parent_id": project.domain_id,
        "is_domain": false,
        "tags": [],
        "options": {},
        "links": { "self": format!("{base}/v3/projects/{}", project.id) },
    })
}

/// Stores `record` and answers 201 with its id in `X-Subject-Token`.
fn created(state: &State, origin: &Origin, record: TokenRecord, nocatalog: bool) -> Response {
    let body = render(&record, &origin.base, !nocatalog);
    let id = state.keystone.tokens.insert(record);
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    insert_subject(&mut response, &id);
    response
}

fn insert_subject(response: &mut Response, token: &str) {
    let value = HeaderValue::from_str(token).expect("token ids are urlsafe ASCII");
    response.headers_mut().insert(X_SUBJECT_TOKEN, value);
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
