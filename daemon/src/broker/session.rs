//! A profile's login session: the unscoped Keystone token and what produced it.
//!
//! One Keycloak + federation round trip gives an unscoped token; every project of the profile
//! is scoped from it. The session lock is held across that round trip on purpose: it is the
//! single flight of the Keycloak leg (many projects needing a login cause one login).

use opcp_cred_proto::Secret;

use crate::clock::{BootInstant, Lifetime};
use crate::error::Failure;
use crate::oidc::{self, ClientCredentials, Discovery};
use crate::{keystone, store};

use super::min_valid::MinValid;
use super::profile::ProfileState;

/// The unscoped token of a profile.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: Secret,
    pub lifetime: Lifetime,
    /// The `projects` claim of the access token that made it, to word authorisation errors.
    pub claimed_projects: Option<Vec<String>>,
}

/// What the session lock guards.
#[derive(Debug, Default)]
pub struct SessionSlot {
    /// Cached for the life of the profile state: discovery documents rarely change, and the
    /// state is rebuilt when the discovery URL does.
    discovery: Option<Discovery>,
    session: Option<Session>,
    /// Keycloak's refresh token and when it stops working.
    refresh: Option<(Secret, BootInstant)>,
    /// The profile was logged out or replaced: no login from here on.
    closed: bool,
}

impl SessionSlot {
    /// Drop the Keystone session; the discovery document and Keycloak's refresh token stay.
    pub fn forget_session(&mut self) {
        self.session = None;
    }

    /// Close the slot for good, returning the session to revoke.
    pub fn close(&mut self) -> Option<Session> {
        self.closed = true;
        self.refresh = None;
        self.session.take()
    }

    /// Move `other`'s discovery, session and refresh token here (a state rebuilt after a
    /// config edit that kept the profile's login).
    pub fn adopt(&mut self, other: &mut Self) {
        self.discovery = other.discovery.take();
        self.session = other.session.take();
        self.refresh = other.refresh.take();
    }
}

impl ProfileState {
    /// An unscoped token with what `min_valid` requires left, logging in when needed.
    ///
    /// The session itself must have what the project token needs: Keystone gives a token
    /// scoped from a federated unscoped token the unscoped token's own `expires_at` (every
    /// release since the security fix in 27.1.0, 28.1.0 and 29.0.0; pinned against the real
    /// Keystone by tests/tests/sim_fidelity.rs). A project token never outlives the session
    /// it came from, so a refresh that asks for more than the session has left logs in again,
    /// ahead of the project tokens derived from the old session. Older releases gave a
    /// rescoped token a full lifetime from now; there this costs one login per lifetime all
    /// the same and never serves a token past its expiry.
    pub(super) async fn session(&self, min_valid: MinValid) -> Result<Session, Failure> {
        let mut slot = self.session.lock().await;
        if slot.closed {
            return Err(self.retired());
        }
        if let Some(session) = &slot.session
            && session.lifetime.remaining(BootInstant::now())
                >= min_valid.required(session.lifetime.length)
        {
            return Ok(session.clone());
        }
        if self.needs_login() {
            return Err(self.login_required());
        }
        let session = self
            .login(&mut slot)
            .await
            .map_err(|failure| self.name_profile_in_hint(failure))?;
        slot.session = Some(session.clone());
        Ok(session)
    }

    /// Drop `stale` if it is still the current session (another request may have replaced it).
    pub(super) async fn forget_session(&self, stale: &Session) {
        let mut slot = self.session.lock().await;
        if slot
            .session
            .as_ref()
            .is_some_and(|s| s.token == stale.token)
        {
            slot.session = None;
        }
    }

    /// Keycloak (refresh grant while the refresh token lives, else password grant), then
    /// Keystone federation auth.
    async fn login(&self, slot: &mut SessionSlot) -> Result<Session, Failure> {
        let (password, client_secret) = self.credentials().await?;
        let discovery = if let Some(discovery) = &slot.discovery {
            discovery.clone()
        } else {
            let discovery = oidc::discover(&self.http, &self.config.discovery_endpoint).await?;
            slot.discovery = Some(discovery.clone());
            discovery
        };
        let client = self.client_credentials(&client_secret);
        let tokens = match slot
            .refresh
            .take()
            .filter(|(_, until)| BootInstant::now() < *until)
        {
            Some((refresh_token, _)) => {
                match oidc::refresh_grant(&self.http, &discovery, &client, &refresh_token).await {
                    Ok(tokens) => tokens,
                    Err(err) => {
                        tracing::info!(profile = %self.name, error = %err, "refresh grant failed; using the password");
                        self.password_grant(&discovery, &client, &password).await?
                    }
                }
            }
            None => self.password_grant(&discovery, &client, &password).await?,
        };
        let received = BootInstant::now();
        slot.refresh = tokens
            .refresh_token
            .clone()
            .zip(tokens.refresh_expires_in)
            .filter(|(_, lifetime)| !lifetime.is_zero())
            .map(|(token, lifetime)| (token, received + lifetime));
        let unscoped = keystone::federated_auth(
            &self.http,
            &self.auth_url,
            &self.config.identity_provider,
            &self.config.protocol,
            &tokens.access_token,
        )
        .await?;
        *self
            .longest_lifetime
            .lock()
            .expect("lifetime lock poisoned") = Some(unscoped.lifetime.length);
        Ok(Session {
            token: unscoped.token,
            lifetime: unscoped.lifetime,
            claimed_projects: oidc::projects_claim(&tokens.access_token),
        })
    }

    /// The profile's confidential client, with `client_secret`.
    pub(super) fn client_credentials<'a>(
        &'a self,
        client_secret: &'a Secret,
    ) -> ClientCredentials<'a> {
        ClientCredentials {
            client_id: &self.config.client_id,
            client_secret,
            auth: self.config.client_auth,
            scope: self.config.scope.as_deref().unwrap_or("openid"),
        }
    }

    /// The password grant; a rejected password marks the profile `needs_login`, so that
    /// nothing tries it again.
    pub(super) async fn password_grant(
        &self,
        discovery: &Discovery,
        client: &ClientCredentials<'_>,
        password: &Secret,
    ) -> Result<oidc::OidcTokens, Failure> {
        oidc::password_grant(
            &self.http,
            discovery,
            client,
            &self.config.username,
            password,
        )
        .await
        .map_err(|err| {
            if err.is_rejected_password() {
                self.mark_needs_login();
            }
            Failure::from(err)
        })
    }

    /// The password and client secret: given with the request being verified, or from the
    /// keyring. Read at each login rather than kept, so they stay in memory only briefly.
    pub(super) async fn credentials(&self) -> Result<(Secret, Secret), Failure> {
        let store = match &*self.credentials_source() {
            super::Credentials::Given {
                password,
                client_secret,
            } => return Ok((password.clone(), client_secret.clone())),
            super::Credentials::Stored(store) => store.clone(),
        };
        let stored_for = store::get(&store, &self.name, store::SecretKind::Identity).await?;
        if let Some(stored_for) = stored_for
            && stored_for != super::identity(&self.config)
        {
            return Err(self.secrets_of_another_config(store.name(), &stored_for));
        }
        let password = store::get(&store, &self.name, store::SecretKind::Password).await?;
        let client_secret = store::get(&store, &self.name, store::SecretKind::ClientSecret).await?;
        match (password, client_secret) {
            (Some(password), Some(client_secret)) => Ok((password, client_secret)),
            _ => Err(self.secrets_missing(store.name())),
        }
    }
}
