//! The token broker: an in-memory cache of project-scoped tokens keyed by (profile, project).
//!
//! - A request is served from the cache while the token has at least `min_valid` left.
//! - A miss starts one upstream flow per key ([`flight`]): any number of concurrent requests for
//!   the same key wait for that one flow and share its result, success or error.
//! - Each profile keeps its unscoped Keystone token ([`session`]), so a second project is scoped
//!   without a Keycloak trip. Keystone keeps the unscoped token's `expires_at` when rescoping
//!   (checked against the real Keystone: see `ProfileState::session`), so a project token can
//!   never outlive the session it came from: a request whose `min_valid` the session cannot
//!   meet logs in again.
//! - After Keycloak rejects the stored password the profile is marked `needs_login` and no
//!   further password grant is made until `login` stores new credentials: Keycloak's
//!   brute-force protection would lock the account.
//!
//! Tokens are never written to disk. An edit of a profile in the config file builds a new
//! state for it, which keeps the old one's session and tokens while the login is the same
//! (Keystone, identity provider, client, user) and its `needs_login` while Keycloak, client and
//! user are: an edit of the region never costs a login, nor retries a rejected password.

mod cache;
mod diagnose;
mod flight;
mod health;
mod min_valid;
mod profile;
mod refresh;
mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use opcp_cred_proto::messages::{
    DeleteProfileResponse, ProfileConfig, ProfileEntry, ProfileList, ProfileStatus, ProjectList,
    ProjectSelector, PutProfile, PutProfileResponse, TokenRequest, valid_profile_name,
};
use opcp_cred_proto::{ErrorKind, Secret};

use crate::config::{Config, ConfigFile, KeyringChoice};
use crate::error::Failure;
use crate::store::{self, SecretKind, SecretStore};

pub use profile::Credentials;
use profile::ProfileState;

pub use min_valid::{DEFAULT_MIN_VALID, MinValid};

#[derive(Debug)]
pub struct Broker {
    config: Arc<ConfigFile>,
    keyring: Keyring,
    /// Live state per profile name. Replaced when the profile's config changes.
    profiles: Mutex<HashMap<String, Arc<ProfileState>>>,
    /// Notified when a token is stored, to wake the background refresher.
    stored: Arc<tokio::sync::Notify>,
    /// Serialises the building of profile states (see `state_for`).
    building: tokio::sync::Mutex<()>,
}

/// The secret store: fixed (tests, or a store chosen up front) or opened on first use from the
/// config's `keyring` setting, so a daemon started before the desktop's keyring still works.
#[derive(Debug)]
enum Keyring {
    Fixed(Arc<dyn SecretStore>),
    FromConfig(tokio::sync::Mutex<Option<(KeyringChoice, Arc<dyn SecretStore>)>>),
}

impl Broker {
    /// A broker whose keyring is chosen by the config file.
    pub fn new(config: Arc<ConfigFile>) -> Self {
        Self::with_keyring(config, Keyring::FromConfig(tokio::sync::Mutex::default()))
    }

    /// A broker with a given secret store (tests use [`store::MemoryStore`]).
    pub fn with_store(config: Arc<ConfigFile>, store: Arc<dyn SecretStore>) -> Self {
        Self::with_keyring(config, Keyring::Fixed(store))
    }

    fn with_keyring(config: Arc<ConfigFile>, keyring: Keyring) -> Self {
        Self {
            config,
            keyring,
            profiles: Mutex::default(),
            stored: Arc::default(),
            building: tokio::sync::Mutex::default(),
        }
    }

    pub fn config(&self) -> &ConfigFile {
        &self.config
    }

    /// The store in use, opening it on first use.
    pub async fn store(&self) -> Result<Arc<dyn SecretStore>, Failure> {
        match &self.keyring {
            Keyring::Fixed(store) => Ok(store.clone()),
            Keyring::FromConfig(slot) => {
                let choice = self.config.current().keyring;
                let mut slot = slot.lock().await;
                if let Some((opened_for, store)) = slot.as_ref()
                    && *opened_for == choice
                {
                    return Ok(store.clone());
                }
                let store = tokio::task::spawn_blocking(move || store::open(choice))
                    .await
                    .map_err(|e| {
                        Failure::new(
                            ErrorKind::Internal,
                            format!("keyring task failed: {e}"),
                            None,
                        )
                    })??;
                *slot = Some((choice, store.clone()));
                Ok(store)
            }
        }
    }

    /// The name of the store in use, if one was opened.
    pub fn keyring_name(&self) -> Option<&'static str> {
        match &self.keyring {
            Keyring::Fixed(store) => Some(store.name()),
            Keyring::FromConfig(slot) => slot
                .try_lock()
                .ok()
                .and_then(|s| s.as_ref().map(|(_, store)| store.name())),
        }
    }

    /// `POST /v1/token`: the answer's JSON body. A cache hit, the common case by far, is
    /// answered with the body rendered when the token was first served.
    pub async fn token(&self, request: TokenRequest) -> Result<Bytes, Failure> {
        let (config, config_error) = self.config.current_with_error();
        let name = resolve_profile_name(request.profile.as_deref(), &config)
            .map_err(|failure| self.blame_config(failure))?;
        self.token_from(&name, &config, request, config_error.as_deref())
            .await
            .map_err(|failure| with_config_error(failure, config_error.as_deref()))
    }

    async fn token_from(
        &self,
        name: &str,
        config: &Config,
        request: TokenRequest,
        config_error: Option<&str>,
    ) -> Result<Bytes, Failure> {
        let state = self.state_for(name, config).await?;
        let min_valid = MinValid::from_request(request.min_valid_secs);
        let Some(project) = request.project.or_else(|| state.config.project()) else {
            return Err(state.no_project_error().await);
        };
        if request.refresh {
            state.forget(&project).await;
        }
        let cached = || {
            config_error
                .is_none()
                .then(|| state.cached_answer(&project, min_valid))
                .flatten()
        };
        if let Some(answer) = cached() {
            return Ok(answer);
        }
        if request.cached_only {
            return Err(fetch_in_background(state, project, min_valid));
        }
        let scoped = state.scoped_token(&project, min_valid).await?;
        // The requests that waited on one flight share one rendering of its token.
        Ok(cached().unwrap_or_else(|| state.answer(&scoped, config_error.map(str::to_owned))))
    }

    /// `GET /v1/profiles/{name}/projects`.
    pub async fn projects(&self, name: &str) -> Result<ProjectList, Failure> {
        let (config, config_error) = self.config.current_with_error();
        let listed = async {
            let state = self.state_for(name, &config).await?;
            state.projects().await
        };
        match listed.await {
            Ok(projects) => Ok(ProjectList {
                profile: name.to_owned(),
                projects,
            }),
            Err(failure) => Err(with_config_error(failure, config_error.as_deref())),
        }
    }

    /// `PUT /v1/profiles/{name}`: log in with the given credentials first; only when Keycloak
    /// and Keystone accept them are the secrets stored and the config written. The verified
    /// session is kept, so the next `env` needs no second login.
    pub async fn put_profile(
        &self,
        name: &str,
        put: PutProfile,
    ) -> Result<PutProfileResponse, Failure> {
        check_profile_name(name)?;
        let candidate = ProfileState::new(
            name,
            put.config.clone(),
            Credentials::Given {
                password: put.password.clone(),
                client_secret: put.client_secret.clone(),
            },
            self.stored.clone(),
        )?;
        candidate.verify().await.map_err(nothing_stored)?;

        let store = self.store().await?;
        store::set(&store, name, SecretKind::Password, &put.password).await?;
        store::set(&store, name, SecretKind::ClientSecret, &put.client_secret).await?;
        store::set(&store, name, SecretKind::Identity, &identity(&put.config)).await?;
        let is_default = self
            .config
            .put_profile(name, &put.config, put.make_default)?;
        candidate.use_store(store.clone());
        let old = self
            .lock_profiles()
            .insert(name.to_owned(), Arc::new(candidate));
        // The verified token was stored before the state was reachable: let the refresher
        // plan for it.
        self.stored.notify_one();
        if let Some(old) = old {
            old.retire().await;
        }
        tracing::info!(profile = name, keyring = store.name(), "profile stored");
        Ok(PutProfileResponse {
            profile: name.to_owned(),
            keyring: store.name().to_owned(),
            is_default,
        })
    }

    /// `DELETE /v1/profiles/{name}`: revoke cached tokens at Keystone, forget them, delete the
    /// keyring entries and the config section.
    pub async fn delete_profile(&self, name: &str) -> Result<DeleteProfileResponse, Failure> {
        check_profile_name(name)?;
        let config = self.config.current();
        if !config.profiles.contains_key(name) {
            let mut failure = profile_not_found(name, &config);
            failure.0.hint = Some("there is nothing to log out of".to_owned());
            return Err(failure);
        }
        // The config first: from here on a request for the profile cannot log in again while
        // its tokens are being revoked.
        self.config.remove_profile(name)?;
        let state = self.lock_profiles().remove(name);
        let revoked = match state {
            Some(state) => state.retire().await,
            None => 0,
        };
        let store = self.store().await?;
        let stored_for = store::get(&store, name, SecretKind::Identity).await?;
        if stored_for.is_none_or(|id| id == identity(&config.profiles[name])) {
            for kind in [
                SecretKind::Password,
                SecretKind::ClientSecret,
                SecretKind::Identity,
            ] {
                store::delete(&store, name, kind).await?;
            }
        } else {
            tracing::warn!(
                profile = name,
                "keyring entries belong to another configuration: left alone"
            );
        }
        tracing::info!(profile = name, revoked, "profile removed");
        Ok(DeleteProfileResponse {
            profile: name.to_owned(),
            revoked,
        })
    }

    /// `GET /v1/profiles`.
    pub fn profiles(&self) -> ProfileList {
        let config = self.config.current();
        ProfileList {
            default_profile: config.default_profile.clone(),
            profiles: config
                .profiles
                .iter()
                .map(|(name, config)| ProfileEntry {
                    name: name.clone(),
                    config: config.clone(),
                })
                .collect(),
        }
    }

    /// One row per configured profile, with its cached tokens and health.
    pub fn profile_status(&self) -> Vec<ProfileStatus> {
        let config = self.config.current();
        let states = self.lock_profiles();
        config
            .profiles
            .keys()
            .map(|name| match states.get(name) {
                Some(state) => state.status(),
                None => ProfileStatus {
                    name: name.clone(),
                    tokens: Vec::new(),
                    last_success: None,
                    last_error: None,
                    needs_login: false,
                    next_attempt: None,
                },
            })
            .collect()
    }

    /// The live state of a profile, rebuilt when its config changed on disk.
    async fn state_for(&self, name: &str, config: &Config) -> Result<Arc<ProfileState>, Failure> {
        check_profile_name(name)?;
        let Some(profile_config) = config.profiles.get(name) else {
            return Err(self.blame_config(profile_not_found(name, config)));
        };
        if let Some(state) = self.lock_profiles().get(name)
            && state.config == *profile_config
        {
            return Ok(state.clone());
        }
        // One builder at a time: building a state (an HTTPS client with its trust roots) costs
        // milliseconds, and a cold storm of requests must build it once, not once each.
        let _building = self.building.lock().await;
        if let Some(state) = self.lock_profiles().get(name)
            && state.config == *profile_config
        {
            return Ok(state.clone());
        }
        let store = self.store().await?;
        let fresh = Arc::new(ProfileState::new(
            name,
            profile_config.clone(),
            Credentials::Stored(store),
            self.stored.clone(),
        )?);
        let old = self.lock_profiles().get(name).cloned();
        if let Some(old) = old {
            fresh.adopt(&old).await;
        }
        self.lock_profiles().insert(name.to_owned(), fresh.clone());
        Ok(fresh)
    }

    /// A profile that cannot be found while config.toml has an error is most likely in the
    /// broken part: say that instead.
    fn blame_config(&self, failure: Failure) -> Failure {
        match self.config.last_error() {
            Some(error) if failure.kind() == ErrorKind::ProfileNotFound => {
                self.config_failure(error)
            }
            _ => failure,
        }
    }

    /// config.toml on disk cannot be used: `error` names the line and key.
    fn config_failure(&self, error: String) -> Failure {
        Failure::new(
            ErrorKind::ConfigInvalid,
            error,
            Some(format!(
                "fix {}; the daemon picks up the edit without a restart",
                self.config.path().display()
            )),
        )
    }

    fn lock_profiles(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ProfileState>>> {
        self.profiles.lock().expect("profile map lock poisoned")
    }
}

fn resolve_profile_name(given: Option<&str>, config: &Config) -> Result<String, Failure> {
    if let Some(name) = given {
        return Ok(name.to_owned());
    }
    if let Some(name) = &config.default_profile {
        return Ok(name.clone());
    }
    match config.profiles.keys().collect::<Vec<_>>().as_slice() {
        [only] => Ok((*only).clone()),
        [] => Err(Failure::new(
            ErrorKind::ProfileNotFound,
            "no profile is configured",
            Some("run `opcp-cred import openrc.sh` or `opcp-cred login` first".to_owned()),
        )),
        many => Err(Failure::new(
            ErrorKind::ProfileNotFound,
            format!(
                "no profile given and no default_profile set (profiles: {})",
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(
                "pass --profile, set OPCP_CRED_PROFILE, or set default_profile in config.toml"
                    .to_owned(),
            ),
        )),
    }
}

/// What the keyring entries of a profile are for, stored beside them.
pub(crate) fn identity(config: &ProfileConfig) -> Secret {
    Secret::new(format!(
        "{}\n{}\n{}",
        config.discovery_endpoint, config.client_id, config.username
    ))
}

/// A prompt hook's miss: start the fetch (or join the one under way) without waiting for it,
/// so the next prompt finds the token; a profile that is backing off or needs `login` answers
/// its flight at once without going upstream.
fn fetch_in_background(
    state: Arc<ProfileState>,
    project: ProjectSelector,
    min_valid: MinValid,
) -> Failure {
    let name = state.name.clone();
    tokio::spawn(async move {
        if let Err(err) = state.scoped_token(&project, min_valid).await {
            tracing::debug!(profile = %state.name, error = %err, "background fetch failed");
        }
    });
    Failure::new(
        ErrorKind::NotCached,
        format!("no token of profile `{name}` is cached yet: it is being fetched"),
        Some("ask again in a moment".to_owned()),
    )
}

/// A request that failed while config.toml has an error ran on the last good config: the
/// error on disk may well be the cause, so it is said too.
fn with_config_error(mut failure: Failure, config_error: Option<&str>) -> Failure {
    let Some(config_error) = config_error else {
        return failure;
    };
    if failure.kind() == ErrorKind::ConfigInvalid {
        return failure;
    }
    let note = format!("{config_error} (the last good config is in use until you fix it)");
    failure.0.hint = Some(match failure.0.hint.take() {
        Some(hint) => format!("{hint}\n  note: {note}"),
        None => note,
    });
    failure
}

/// A failed verification stored nothing: "run `opcp-cred login`" would send the user in a
/// circle. Keep the specific advice, replace that step; what followed it in its sentence is
/// about a stored profile and goes too.
fn nothing_stored(mut failure: Failure) -> Failure {
    const AGAIN: &str =
        "correct it (in the openrc you import, or at the prompt) and try again; nothing was stored";
    failure.0.hint = Some(match failure.0.hint.take() {
        Some(hint) => profile::replace_login_step_to_line_end(&hint, AGAIN),
        None => AGAIN.to_owned(),
    });
    failure
}

fn check_profile_name(name: &str) -> Result<(), Failure> {
    if valid_profile_name(name) {
        Ok(())
    } else {
        Err(Failure::new(
            ErrorKind::BadRequest,
            format!("`{name}` is not a valid profile name"),
            Some("use letters, digits, `-`, `_` and `.` (at most 64)".to_owned()),
        ))
    }
}

fn profile_not_found(name: &str, config: &Config) -> Failure {
    let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
    let message = if known.is_empty() {
        format!("no profile `{name}`: no profile is configured")
    } else {
        format!("no profile `{name}` (profiles: {})", known.join(", "))
    };
    Failure::new(
        ErrorKind::ProfileNotFound,
        message,
        Some(format!(
            "create it with `opcp-cred import --profile {name} openrc.sh` or `opcp-cred login --profile {name}`"
        )),
    )
}

#[cfg(test)]
mod tests;
