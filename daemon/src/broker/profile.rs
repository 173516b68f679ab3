//! The live state of one profile: its HTTP client, session, token cache and health.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;

use opcp_cred_proto::messages::{
    ProfileConfig, ProfileStatus, Project, ProjectSelector, Timestamp, TokenResponse,
};
use opcp_cred_proto::{ErrorKind, Secret};
use tokio::sync::Notify;

use crate::auth_url::AuthUrl;
use crate::clock::BootInstant;
use crate::error::{Actionable, Failure};
use crate::store::SecretStore;
use crate::{http, keystone};

pub use super::cache::Scoped;
use super::cache::TokenCache;
use super::flight::Flights;
use super::health::Health;
use super::min_valid::MinValid;
use super::session::{Session, SessionSlot};

/// Where a profile's password and client secret come from.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Sent with `PUT /v1/profiles/{name}` and not stored yet: used to verify them.
    Given {
        password: Secret,
        client_secret: Secret,
    },
    Stored(Arc<dyn SecretStore>),
}

#[derive(Debug)]
pub struct ProfileState {
    pub name: String,
    /// The config this state was built from; a different config means a new state.
    pub config: ProfileConfig,
    pub(super) auth_url: AuthUrl,
    pub(super) http: reqwest::Client,
    credentials: Mutex<Credentials>,
    pub(super) session: tokio::sync::Mutex<SessionSlot>,
    pub(super) tokens: TokenCache,
    flights: Flights<(ProjectSelector, MinValid), Result<Scoped, Failure>>,
    health: Mutex<Health>,
    /// The lifetime of the last unscoped token: the longest this cloud issues. A request for
    /// more is refused before any login.
    pub(super) longest_lifetime: Mutex<Option<Duration>>,
    /// Wakes the background refresher when a token is stored (it may be due earlier than
    /// what the refresher sleeps for).
    stored: Arc<Notify>,
}

impl ProfileState {
    pub fn new(
        name: &str,
        config: ProfileConfig,
        credentials: Credentials,
        stored: Arc<Notify>,
    ) -> Result<Self, Failure> {
        let auth_url = AuthUrl::parse(&config.auth_url)?;
        if let Some(warning) = &auth_url.warning {
            tracing::warn!(profile = name, "{warning}");
        }
        let http = http::client_for(&config)?;
        Ok(Self {
            name: name.to_owned(),
            config,
            auth_url,
            http,
            credentials: Mutex::new(credentials),
            session: tokio::sync::Mutex::default(),
            tokens: TokenCache::default(),
            flights: Flights::default(),
            health: Mutex::default(),
            longest_lifetime: Mutex::default(),
            stored,
        })
    }

    /// A token for `project` with at least `min_valid` left: from the cache, or from one
    /// upstream flow shared by every concurrent request for the same project.
    pub async fn scoped_token(
        &self,
        project: &ProjectSelector,
        min_valid: MinValid,
    ) -> Result<Scoped, Failure> {
        if let Some(hit) = self.tokens.get(project, min_valid, BootInstant::now()) {
            return Ok(hit);
        }
        if let (MinValid::Explicit(wanted), Some(longest)) = (min_valid, self.longest_lifetime())
            && longest < wanted
        {
            return Err(too_short(longest, wanted));
        }
        let key = (project.clone(), min_valid);
        self.flights
            .run(&key, || async {
                let now = BootInstant::now();
                // A flight that finished just before ours began may have filled the cache.
                if let Some(hit) = self.tokens.get(project, min_valid, now) {
                    return Ok(hit);
                }
                if let Some(error) = self.lock_health().backing_off(now) {
                    return Err(Failure(error.clone()));
                }
                let result = self.fetch_scoped(project, min_valid).await;
                self.record(result.as_ref().map(drop).map_err(Clone::clone));
                result
            })
            .await
    }

    async fn fetch_scoped(
        &self,
        project: &ProjectSelector,
        min_valid: MinValid,
    ) -> Result<Scoped, Failure> {
        let session = self.session(min_valid).await?;
        let token = match self.scope(&session, project).await {
            // Keystone no longer knows the unscoped token (revoked, Keystone restarted with
            // new keys): log in once more and try again.
            Err(err) if err.is_token_rejected() => {
                self.forget_session(&session).await;
                let session = self.session(min_valid).await?;
                self.scope(&session, project).await?
            }
            Err(err) if err.kind() == ErrorKind::ProjectForbidden => {
                return Err(self.explain_refusal(&session, project, err.into()).await);
            }
            other => other?,
        };
        let left = token.lifetime.remaining(BootInstant::now());
        if left.is_zero() {
            return Err(upstream_lied(
                &self.auth_url,
                "a token that has already expired",
            ));
        }
        let required = min_valid.required(token.lifetime.length);
        if left < required {
            return Err(too_short(left, required));
        }
        let Some(project_ref) = token.project.as_ref().filter(|p| p.matches(project)) else {
            return Err(upstream_lied(
                &self.auth_url,
                "a token scoped to another project than the one asked for",
            ));
        };
        let scoped = Scoped {
            token: token.token,
            lifetime: token.lifetime,
            fetched_at: Timestamp::now(),
            project_id: project_ref.id.clone(),
            project_name: Some(project_ref.name.clone()),
        };
        if let Err(late) = self.tokens.insert(project.clone(), scoped.clone()) {
            // Logged out (or replaced) while this flow was upstream: nobody may use it.
            self.revoke(&late.token).await;
            return Err(self.retired());
        }
        self.stored.notify_one();
        Ok(scoped)
    }

    pub(super) async fn scope(
        &self,
        session: &Session,
        project: &ProjectSelector,
    ) -> Result<keystone::KeystoneToken, keystone::KeystoneError> {
        keystone::scope(
            &self.http,
            &self.auth_url,
            &session.token,
            project,
            session.claimed_projects.as_deref(),
        )
        .await
    }

    /// Keystone refused `project`: when it is not among the user's projects at all (a typo,
    /// or `--project-id db` where `db` is a name), the hint lists those, which is what the
    /// user needs first; when it is, the refusal stands as it is (roles, Keycloak mapping).
    pub(super) async fn explain_refusal(
        &self,
        session: &Session,
        project: &ProjectSelector,
        refusal: Failure,
    ) -> Failure {
        let Ok(projects) = keystone::projects(&self.http, &self.auth_url, &session.token).await
        else {
            return refusal;
        };
        if projects.iter().any(|p| p.matches(project)) {
            return refusal;
        }
        if let ProjectSelector::Id { id } = project
            && let Some(named) = projects.iter().find(|p| p.name == *id)
        {
            return Failure::new(
                ErrorKind::ProjectForbidden,
                format!("`{id}` is the name of a project, not its id"),
                Some(format!(
                    "use --project-id {} or --project-name {id}",
                    named.id
                )),
            );
        }
        let yours: Vec<String> = projects
            .iter()
            .map(|p| format!("{} ({})", p.name, p.id))
            .collect();
        let Failure(mut detail) = refusal;
        let should_be = detail
            .hint
            .take()
            .map(|hint| format!("; if it should be, {hint}"))
            .unwrap_or_default();
        detail.hint = Some(if yours.is_empty() {
            format!("your user has no project{should_be}")
        } else {
            format!(
                "it is not among your projects: {}; pass one with --project-id or --project-name, or set project_id of profile `{}` in config.toml{should_be}",
                yours.join(", "),
                self.name
            )
        });
        Failure(detail)
    }

    /// Log in and, when a project is configured, scope to it: the proof that the credentials
    /// work, before `PUT /v1/profiles` stores anything.
    pub async fn verify(&self) -> Result<(), Failure> {
        match self.config.project() {
            Some(project) => self
                .scoped_token(&project, MinValid::Default)
                .await
                .map(drop),
            None => self.session(MinValid::Default).await.map(drop),
        }
    }

    /// The projects the user may scope to.
    pub async fn projects(&self) -> Result<Vec<Project>, Failure> {
        let session = self.session(MinValid::Default).await?;
        Ok(keystone::projects(&self.http, &self.auth_url, &session.token).await?)
    }

    /// No project given and none configured: an error that lists the choices.
    pub async fn no_project_error(&self) -> Failure {
        self.no_project_failure(self.projects().await)
    }

    /// [`Self::no_project_error`] with the projects already listed (or not).
    pub(super) fn no_project_failure(&self, listed: Result<Vec<Project>, Failure>) -> Failure {
        let hint = match listed {
            Ok(projects) if !projects.is_empty() => {
                let list: Vec<String> = projects
                    .iter()
                    .map(|p| format!("{} ({})", p.name, p.id))
                    .collect();
                format!(
                    "pass --project-id, or keep one in the profile with `opcp-cred login --profile {} --project-id ID`; you can use: {}",
                    self.name,
                    list.join(", ")
                )
            }
            Ok(_) => "your user has no project; ask the cloud's administrators".to_owned(),
            Err(err) => format!(
                "pass --project-id, or keep one in the profile with `opcp-cred login --profile {} --project-id ID` (listing projects failed: {err})",
                self.name
            ),
        };
        Failure::new(
            ErrorKind::NoProject,
            format!(
                "profile `{}` has no project configured and none was given",
                self.name
            ),
            Some(hint),
        )
    }

    /// Forget `project`'s cached token and the Keystone session, so that the next fetch
    /// federates again (Keycloak's refresh token, if alive, spares a password login).
    pub async fn forget(&self, project: &ProjectSelector) {
        self.session.lock().await.forget_session();
        self.tokens.remove(project);
    }

    /// The API's answer for a cached token with `min_valid` left, without copying or
    /// serialising anything when it was answered before.
    pub fn cached_answer(&self, project: &ProjectSelector, min_valid: MinValid) -> Option<Bytes> {
        self.tokens.get_answer(
            project,
            min_valid,
            BootInstant::now(),
            |scoped, expires_at| self.render(scoped, expires_at, None),
        )
    }

    /// The API's answer for `scoped`, with the config file's error when there is one.
    pub fn answer(&self, scoped: &Scoped, config_error: Option<String>) -> Bytes {
        self.render(scoped, scoped.lifetime.local_expiry(), config_error)
    }

    fn render(
        &self,
        scoped: &Scoped,
        expires_at: SystemTime,
        config_error: Option<String>,
    ) -> Bytes {
        let response = TokenResponse {
            token: scoped.token.clone(),
            expires_at: Timestamp(expires_at),
            profile: self.name.clone(),
            project_id: scoped.project_id.clone(),
            project_name: scoped.project_name.clone(),
            auth_url: self.auth_url.as_str().to_owned(),
            interface: self.config.interface.clone(),
            region_name: self.config.region_name.clone(),
            cacert: self.config.cacert.clone(),
            config_error,
        };
        serde_json::to_vec(&response)
            .expect("a token response always serialises")
            .into()
    }

    /// Switch from verified-but-unsaved credentials to the keyring once they are stored.
    pub fn use_store(&self, store: Arc<dyn SecretStore>) {
        *self.credentials.lock().expect("credentials lock poisoned") = Credentials::Stored(store);
    }

    pub(super) fn credentials_source(&self) -> MutexGuard<'_, Credentials> {
        self.credentials.lock().expect("credentials lock poisoned")
    }

    /// Revoke every token of this profile at Keystone and forget them, for good: a token that
    /// an in-flight request brings back later is revoked too, and no login starts any more.
    /// Returns how many Keystone confirmed.
    pub async fn retire(&self) -> usize {
        let mut tokens = self.tokens.close();
        if let Some(session) = self.session.lock().await.close() {
            tokens.push(session.token);
        }
        let mut revoked = 0;
        for token in &tokens {
            if self.revoke(token).await {
                revoked += 1;
            }
        }
        revoked
    }

    pub(super) async fn revoke(&self, token: &Secret) -> bool {
        match keystone::revoke(&self.http, &self.auth_url, token).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(profile = %self.name, error = %err, "revocation failed");
                false
            }
        }
    }

    /// Take over what `old` (this profile's state before a config edit) knew that still
    /// holds: a rejected password stays rejected while Keycloak, client and user are the
    /// same; the session and tokens stay while the whole login is the same. Tokens of a
    /// login that changed are left to expire rather than revoked: shells may still use them.
    pub async fn adopt(&self, old: &Self) {
        if super::identity(&old.config) == super::identity(&self.config) && old.needs_login() {
            self.mark_needs_login();
        }
        if !same_login(&old.config, &self.config) {
            return;
        }
        self.session
            .lock()
            .await
            .adopt(&mut *old.session.lock().await);
        self.tokens.adopt(&old.tokens);
        *self
            .longest_lifetime
            .lock()
            .expect("lifetime lock poisoned") = old.longest_lifetime();
        self.stored.notify_one();
    }

    pub fn status(&self) -> ProfileStatus {
        let health = self.lock_health();
        ProfileStatus {
            name: self.name.clone(),
            tokens: self.tokens.status(),
            last_success: health.last_success,
            last_error: health.last_error.clone(),
            needs_login: health.needs_login,
            next_attempt: health.next_attempt_at(BootInstant::now()),
        }
    }

    fn record(&self, outcome: Result<(), Failure>) {
        let mut health = self.lock_health();
        match outcome {
            Ok(()) => health.succeeded(),
            Err(failure) => health.failed(failure.0, BootInstant::now()),
        }
    }

    pub(super) fn needs_login(&self) -> bool {
        self.lock_health().needs_login
    }

    pub(super) fn mark_needs_login(&self) {
        self.lock_health().needs_login = true;
    }

    pub(super) fn login_required(&self) -> Failure {
        Failure::new(
            ErrorKind::LoginRequired,
            format!(
                "keycloak rejected the stored password of profile `{}`; it is not retried, to keep the account from being locked",
                self.name
            ),
            Some(format!("run `opcp-cred login --profile {}`", self.name)),
        )
    }

    /// Keycloak's errors say "run `opcp-cred login`"; which profile is known here.
    pub(super) fn name_profile_in_hint(&self, mut failure: Failure) -> Failure {
        if let Some(hint) = &mut failure.0.hint {
            *hint = replace_login_step(
                hint,
                &format!("run `opcp-cred login --profile {}`", self.name),
            );
        }
        failure
    }

    /// The answer to a request that was in flight when the profile was logged out or replaced.
    pub(super) fn retired(&self) -> Failure {
        Failure::new(
            ErrorKind::ProfileNotFound,
            format!(
                "profile `{}` was logged out or replaced while this request was served",
                self.name
            ),
            Some("ask again".to_owned()),
        )
    }

    /// The keyring's entries were stored for other values of `discovery_endpoint`,
    /// `client_id` or `username` (see [`super::identity`]): say which, as both sides have them.
    pub(super) fn secrets_of_another_config(&self, store: &str, stored_for: &Secret) -> Failure {
        let now = super::identity(&self.config);
        let fields = ["discovery_endpoint", "client_id", "username"];
        let changes: Vec<String> = fields
            .iter()
            .zip(
                stored_for
                    .expose()
                    .split('\n')
                    .zip(now.expose().split('\n')),
            )
            .filter(|(_, (stored, now))| stored != now)
            .map(|(field, (stored, now))| format!("{field} `{stored}`, config.toml has `{now}`"))
            .collect();
        Failure::new(
            ErrorKind::LoginRequired,
            format!(
                "the {store} keyring holds the secrets of profile `{}` for another configuration ({}): they are not sent",
                self.name,
                changes.join("; ")
            ),
            Some(format!(
                "if config.toml is right, run `opcp-cred login --profile {name}` to store the secrets for it; if it was edited by mistake, set it back; if another HOME has a profile `{name}` too, rename one of the two",
                name = self.name
            )),
        )
    }

    pub(super) fn secrets_missing(&self, store: &str) -> Failure {
        Failure::new(
            ErrorKind::LoginRequired,
            format!(
                "the password or client secret of profile `{}` is not in the {store} keyring",
                self.name
            ),
            Some(format!("run `opcp-cred login --profile {}`", self.name)),
        )
    }

    fn longest_lifetime(&self) -> Option<Duration> {
        *self
            .longest_lifetime
            .lock()
            .expect("lifetime lock poisoned")
    }

    pub(super) fn lock_health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().expect("health lock poisoned")
    }
}

/// How hints begin the step that sends the user to `opcp-cred login`.
const LOGIN_STEP: &str = "run `opcp-cred login";

/// `hint` with its "run `opcp-cred login …`" step replaced by `step`.
pub(super) fn replace_login_step(hint: &str, step: &str) -> String {
    let Some(at) = hint.find(LOGIN_STEP) else {
        return hint.to_owned();
    };
    let after = at + LOGIN_STEP.len();
    let end = hint[after..]
        .find('`')
        .map_or(hint.len(), |i| after + i + 1);
    format!("{}{step}{}", &hint[..at], &hint[end..])
}

/// `hint` with its login step and the rest of that line replaced by `step`.
pub(super) fn replace_login_step_to_line_end(hint: &str, step: &str) -> String {
    let Some(at) = hint.find(LOGIN_STEP) else {
        return hint.to_owned();
    };
    let next_lines = hint[at..].find('\n').map_or("", |i| &hint[at + i..]);
    format!("{}{step}{next_lines}", &hint[..at])
}

/// Whether tokens of `old` are tokens `new` would get: the same Keystone, identity provider,
/// Keycloak client and user. Transport (CA, proxy) and presentation (region, interface,
/// refresh point) may differ; the project is part of each token's cache key.
fn same_login(old: &ProfileConfig, new: &ProfileConfig) -> bool {
    old.auth_url == new.auth_url
        && old.identity_provider == new.identity_provider
        && old.protocol == new.protocol
        && old.discovery_endpoint == new.discovery_endpoint
        && old.client_id == new.client_id
        && old.client_auth == new.client_auth
        && old.scope == new.scope
        && old.username == new.username
}

/// Keystone's tokens live shorter than the caller needs: the cloud's maximum is the limit.
fn too_short(left: Duration, min_valid: Duration) -> Failure {
    let round = |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs()));
    Failure::new(
        ErrorKind::BadRequest,
        format!(
            "a token valid for {} was asked for, but this cloud issues tokens valid for at most {}",
            round(min_valid),
            round(left)
        ),
        Some("ask for less with --min-valid (the default is 5m)".to_owned()),
    )
}

/// Keystone answered 2xx with something no real Keystone sends.
fn upstream_lied(auth_url: &AuthUrl, what: &str) -> Failure {
    Failure::new(
        ErrorKind::UpstreamUnavailable,
        format!("keystone at {} answered with {what}", auth_url.as_str()),
        Some("check that auth_url points to the cloud's Keystone (a proxy in between?)".to_owned()),
    )
}
