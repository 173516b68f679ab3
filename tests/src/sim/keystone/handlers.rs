//! Keystone's federation and token API: federated login, (re)scoping, validation,
//! revocation and the projects a token may scope to.
//!
//! Behaviour checked against the real Keystone (tests/tests/sim_fidelity.rs): scoping to an
//! unknown project or to one without a role is a bare 401; an unusable subject token is a
//! 404 (`TokenNotFound`) whether it is validated, revoked or used to authenticate.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::front_door::Claims;
use super::tokens::{FederatedUser, TokenRecord, Unusable, domain_name, render};
use super::{AUTH_METHODS, Origin, error, unauthorized, unsupported_method};
use crate::sim::State;
use crate::sim::counters::Counter;
use crate::sim::fixture::{IdpSpec, ProjectSpec};
use crate::sim::ids;

const X_AUTH_TOKEN: &str = "x-auth-token";
const X_SUBJECT_TOKEN: &str = "x-subject-token";

type Params = Query<HashMap<String, String>>;

/// `GET|POST {prefix}/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`
/// with `Authorization: Bearer <Keycloak access token>`: 201 and an unscoped token.
///
/// The front door has checked the token and passed its claims on; Keystone checks in this
/// order: the protocol is an auth method, the identity provider and its protocol exist, the
/// token's issuer is the provider's remote id (403 otherwise), then maps the claims.
pub(super) async fn federation_auth(
    AxumState(state): AxumState<Arc<State>>,
    Path((idp, protocol)): Path<(String, String)>,
    origin: Origin,
    claims: Option<Extension<Claims>>,
) -> Response {
    state.counters.bump(Counter::FederationAuth);
    if !AUTH_METHODS.contains(&protocol.as_str()) {
        return unsupported_method(&origin);
    }
    let Some(spec) = state.keystone.idps.iter().find(|spec| spec.id == idp) else {
        let message = format!("Could not find Identity Provider: {idp}.");
        return error(&origin, StatusCode::NOT_FOUND, &message);
    };
    if spec.protocol != protocol {
        let message =
            format!("Could not find federated protocol {protocol} for Identity Provider: {idp}.");
        return error(&origin, StatusCode::NOT_FOUND, &message);
    }
    let Some(Extension(Claims(claims))) = claims else {
        let message = "Could not find Identity Provider identifier in environment";
        return error(&origin, StatusCode::BAD_REQUEST, message);
    };
    let trusted = state.keycloak.get(&spec.realm);
    if trusted.is_none_or(|realm| claims["iss"] != realm.issuer()) {
        // Keystone's own text ("Incoming identity provider identifier not included among
        // the accepted identifiers.") is replaced by the generic one outside debug mode.
        let message = "You are not authorized to perform the requested action.";
        return error(&origin, StatusCode::FORBIDDEN, message);
    }
    let Some(user) = mapped_user(&state.keystone.projects, spec, &claims) else {
        return unauthorized(&origin);
    };
    let lifetime = state.lifetimes.keystone;
    let record = TokenRecord::federated(user, state.clock.now(), lifetime);
    created(&state, &origin, record, false)
}

/// What the OPCP mapping makes of the claims: a user named by `preferred_username`, in one
/// group per claimed project.
fn mapped_user(projects: &[ProjectSpec], idp: &IdpSpec, claims: &Value) -> Option<FederatedUser> {
    let name = claims["preferred_username"].as_str()?.to_owned();
    let sub = claims["sub"].as_str()?;
    let allowed_projects: Vec<String> = claims["projects"]
        .as_array()
        .map(|projects| {
            projects
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let group_ids = allowed_projects
        .iter()
        .filter(|claimed| {
            projects
                .iter()
                .any(|p| p.id == **claimed || p.name == **claimed)
        })
        .map(|claimed| ids::stable_hex(&["group", claimed]))
        .collect();
    Some(FederatedUser {
        id: ids::stable_sha256_hex(&[&idp.id, sub]),
        name,
        idp: idp.id.clone(),
        protocol: idp.protocol.clone(),
        allowed_projects,
        group_ids,
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
        return unsupported_method(&origin);
    }
    let now = state.clock.now();
    let subject = auth["identity"]["token"]["id"].as_str().unwrap_or_default();
    // An unusable subject token is a 404 here too, not a 401 (`validate_token` raises
    // `TokenNotFound` before any authentication decision).
    let source = match state.keystone.tokens.lookup(subject, now) {
        Ok(source) => source,
        Err(unusable) => return error(&origin, StatusCode::NOT_FOUND, unusable.message()),
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
    let (subject, record) = match subject_token(&state, &headers, "identity:validate_token") {
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
    match subject_token(&state, &headers, "identity:revoke_token") {
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
    /// No `X-Subject-Token`: Keystone's policy (the caller's own tokens, unless admin or
    /// service) refuses before looking for one, naming its rule.
    Forbidden(&'static str),
    /// `X-Subject-Token` is unknown, revoked or expired.
    NotFound(Unusable),
}

impl SubjectRejection {
    fn respond(self, origin: &Origin) -> Response {
        match self {
            Self::Unauthorized => unauthorized(origin),
            Self::Forbidden(rule) => refused_by_policy(origin, rule),
            Self::NotFound(unusable) => error(origin, StatusCode::NOT_FOUND, unusable.message()),
        }
    }
}

/// The valid `X-Subject-Token`, once `X-Auth-Token` is known to be valid; `rule` is the
/// policy rule of the request.
fn subject_token(
    state: &State,
    headers: &HeaderMap,
    rule: &'static str,
) -> Result<(String, TokenRecord), SubjectRejection> {
    caller(state, headers).ok_or(SubjectRejection::Unauthorized)?;
    let subject = header_str(headers, X_SUBJECT_TOKEN).ok_or(SubjectRejection::Forbidden(rule))?;
    let record = state
        .keystone
        .tokens
        .lookup(subject, state.clock.now())
        .map_err(SubjectRejection::NotFound)?;
    Ok((subject.to_owned(), record))
}

/// `GET {prefix}/v3/auth/projects`: the projects of the user's claim that exist.
pub(super) async fn projects(
    AxumState(state): AxumState<Arc<State>>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    state.counters.bump(Counter::Projects);
    let Some(record) = caller(&state, &headers) else {
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

/// `GET {prefix}/v3/projects` (`openstack project list`): the administrators' list. Every
/// user of the simulator is a member, whom Keystone's policy refuses.
pub(super) async fn all_projects(
    AxumState(state): AxumState<Arc<State>>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    match caller(&state, &headers) {
        Some(_) => refused_by_policy(&origin, "identity:list_projects"),
        None => unauthorized(&origin),
    }
}

/// The token of the request's `X-Auth-Token`, when it is valid.
fn caller(state: &State, headers: &HeaderMap) -> Option<TokenRecord> {
    let auth = header_str(headers, X_AUTH_TOKEN)?;
    state.keystone.tokens.valid(auth, state.clock.now())
}

/// Keystone's 403 when its policy refuses the caller, naming the rule.
fn refused_by_policy(origin: &Origin, rule: &str) -> Response {
    error(
        origin,
        StatusCode::FORBIDDEN,
        &format!("You are not authorized to perform the requested action: {rule}."),
    )
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
