//! The live state of one profile: its HTTP client, session, token cache and health.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use opcp_cred_proto::error::ErrorDetail;
use opcp_cred_proto::messages::{
    CachedToken, ProfileConfig, ProfileStatus, Project, ProjectSelector, Timestamp, TokenResponse,
};
use opcp_cred_proto::{ErrorKind, Secret};

use crate::auth_url::AuthUrl;
use crate::error::Failure;
use crate::store::SecretStore;
use crate::{http, keystone};

use super::flight::Flights;
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

/// A project-scoped token in the cache.
#[derive(Debug, Clone)]
pub struct Scoped {
    pub token: Secret,
    pub expires_at: Timestamp,
    pub fetched_at: Timestamp,
    pub project_id: String,
    pub project_name: Option<String>,
}

#[derive(Debug, Default)]
struct Health {
    last_success: Option<Timestamp>,
    last_error: Option<ErrorDetail>,
    /// Keycloak rejected the stored password: no login is attempted until new credentials.
    needs_login: bool,
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
    tokens: Mutex<HashMap<ProjectSelector, Scoped>>,
    flights: Flights<(ProjectSelector, Duration), Result<Scoped, Failure>>,
    health: Mutex<Health>,
}

impl ProfileState {
    pub fn new(
        name: &str,
        config: ProfileConfig,
        credentials: Credentials,
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
            tokens: Mutex::default(),
            flights: Flights::default(),
            health: Mutex::default(),
        })
    }

    /// A token for `project` with at least `min_valid` left: from the cache, or from one
    /// upstream flow shared by every concurrent request for the same project.
    pub async fn scoped_token(
        &self,
        project: &ProjectSelector,
        min_valid: Duration,
    ) -> Result<Scoped, Failure> {
        if let Some(hit) = self.cached(project, min_valid) {
            return Ok(hit);
        }
        let key = (project.clone(), min_valid);
        self.flights
            .run(&key, || async {
                // A flight that finished just before ours began may have filled the cache.
                if let Some(hit) = self.cached(project, min_valid) {
                    return Ok(hit);
                }
                let result = self.fetch_scoped(project, min_valid).await;
                self.record(result.as_ref().map(|_| ()).map_err(Clone::clone));
                result
            })
            .await
    }

    fn cached(&self, project: &ProjectSelector, min_valid: Duration) -> Option<Scoped> {
        let tokens = self.lock_tokens();
        let hit = tokens.get(project)?;
        (hit.expires_at.remaining(SystemTime::now()) >= min_valid).then(|| hit.clone())
    }

    async fn fetch_scoped(
        &self,
        project: &ProjectSelector,
        min_valid: Duration,
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
            other => other?,
        };
        let left = token.expires_at.remaining(SystemTime::now());
        if left < min_valid {
            return Err(Failure::new(
                ErrorKind::BadRequest,
                format!(
                    "keystone issued a token valid for {}, less than the {} asked for",
                    humantime::format_duration(Duration::from_secs(left.as_secs())),
                    humantime::format_duration(min_valid)
                ),
                Some(
                    "ask for a shorter --min-valid; the cloud's token lifetime is the maximum"
                        .to_owned(),
                ),
            ));
        }
        let project_ref = token.project.as_ref();
        let scoped = Scoped {
            token: token.token,
            expires_at: token.expires_at,
            fetched_at: Timestamp::now(),
            project_id: project_ref.map_or_else(|| selector_label(project), |p| p.id.clone()),
            project_name: project_ref.map(|p| p.name.clone()),
        };
        self.lock_tokens().insert(project.clone(), scoped.clone());
        Ok(scoped)
    }

    async fn scope(
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

    /// Log in and, when a project is configured, scope to it: the proof that the credentials
    /// work, before `PUT /v1/profiles` stores anything.
    pub async fn verify(&self) -> Result<(), Failure> {
        match self.config.project() {
            Some(project) => self
                .scoped_token(&project, super::DEFAULT_MIN_VALID)
                .await
                .map(drop),
            None => self.session(super::DEFAULT_MIN_VALID).await.map(drop),
        }
    }

    /// The projects the user may scope to.
    pub async fn projects(&self) -> Result<Vec<Project>, Failure> {
        let session = self.session(Duration::from_secs(60)).await?;
        Ok(keystone::projects(&self.http, &self.auth_url, &session.token).await?)
    }

    /// No project given and none configured: an error that lists the choices.
    pub async fn no_project_error(&self) -> Failure {
        let hint = match self.projects().await {
            Ok(projects) if !projects.is_empty() => {
                let list: Vec<String> = projects
                    .iter()
                    .map(|p| format!("{} ({})", p.name, p.id))
                    .collect();
                format!("pass --project-id; you can use: {}", list.join(", "))
            }
            Ok(_) => "your user has no project; ask the cloud's administrators".to_owned(),
            Err(err) => format!("pass --project-id (listing projects failed: {err})"),
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

    pub fn response(&self, scoped: &Scoped) -> TokenResponse {
        TokenResponse {
            token: scoped.token.clone(),
            expires_at: scoped.expires_at,
            profile: self.name.clone(),
            project_id: scoped.project_id.clone(),
            project_name: scoped.project_name.clone(),
            auth_url: self.auth_url.as_str().to_owned(),
            interface: self.config.interface.clone(),
            region_name: self.config.region_name.clone(),
            cacert: self.config.cacert.clone(),
        }
    }

    /// Switch from verified-but-unsaved credentials to the keyring once they are stored.
    pub fn use_store(&self, store: Arc<dyn SecretStore>) {
        *self.credentials.lock().expect("credentials lock poisoned") = Credentials::Stored(store);
    }

    pub(super) fn credentials_source(&self) -> MutexGuard<'_, Credentials> {
        self.credentials.lock().expect("credentials lock poisoned")
    }

    /// Revoke every token of this profile at Keystone and forget them. Returns how many
    /// Keystone confirmed.
    pub async fn revoke_all(&self) -> usize {
        let mut tokens: Vec<Secret> = self.lock_tokens().drain().map(|(_, t)| t.token).collect();
        if let Some(session) = self.session.lock().await.take_session() {
            tokens.push(session.token);
        }
        let mut revoked = 0;
        for token in &tokens {
            match keystone::revoke(&self.http, &self.auth_url, token).await {
                Ok(()) => revoked += 1,
                Err(err) => tracing::warn!(profile = %self.name, error = %err, "revocation failed"),
            }
        }
        revoked
    }

    pub fn status(&self) -> ProfileStatus {
        let mut tokens: Vec<CachedToken> = self
            .lock_tokens()
            .values()
            .map(|t| CachedToken {
                project_id: t.project_id.clone(),
                project_name: t.project_name.clone(),
                expires_at: t.expires_at,
                fetched_at: t.fetched_at,
            })
            .collect();
        tokens.sort_by(|a, b| a.project_id.cmp(&b.project_id));
        let health = self.lock_health();
        ProfileStatus {
            name: self.name.clone(),
            tokens,
            last_success: health.last_success,
            last_error: health.last_error.clone(),
            needs_login: health.needs_login,
        }
    }

    fn record(&self, outcome: Result<(), Failure>) {
        let mut health = self.lock_health();
        match outcome {
            Ok(()) => {
                health.last_success = Some(Timestamp::now());
                health.last_error = None;
            }
            Err(failure) => health.last_error = Some(failure.0),
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

    fn lock_tokens(&self) -> MutexGuard<'_, HashMap<ProjectSelector, Scoped>> {
        self.tokens.lock().expect("token cache lock poisoned")
    }

    fn lock_health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().expect("health lock poisoned")
    }
}

fn selector_label(project: &ProjectSelector) -> String {
    match project {
        ProjectSelector::Id { id } => id.clone(),
        ProjectSelector::Name { name, .. } => name.clone(),
    }
}
