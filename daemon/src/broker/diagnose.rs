//! `POST /v1/doctor`: the daemon's steps, run in turn on the profile's live state with the code
//! a token request uses, stopping at the first failure.
//!
//! It never feeds Keycloak's brute-force counter: a profile already marked `needs_login` is
//! reported as such and its password is not sent; a password rejected now marks it, so that
//! neither the next `doctor` nor the background refresh sends it again. The tokens a run gets
//! are revoked at the end: nothing holds them.

use std::sync::Arc;
use std::time::SystemTime;

use opcp_cred_proto::doctor::{DoctorReport, DoctorRequest, Step, mask_credentials};
use opcp_cred_proto::{ErrorKind, Secret};

use crate::config::Config;
use crate::doctor::{self, Checklist, ClockReading};
use crate::error::{Actionable, Failure};
use crate::http::Transport;
use crate::oidc::{self, Discovery, OidcError};
use crate::store::{self, SecretKind};
use crate::{http, keystone};

use super::profile::ProfileState;
use super::session::Session;
use super::{Broker, check_profile_name, profile_not_found, resolve_profile_name};

impl Broker {
    /// Every step but the client's own; see [`opcp_cred_proto::doctor`].
    pub async fn doctor(&self, request: DoctorRequest) -> DoctorReport {
        let mut checks = Checklist::default();
        let mut report = DoctorReport {
            daemon_proxy_env: doctor::proxy_environment(),
            ..DoctorReport::default()
        };
        if let Some((name, config)) = self.check_config(&mut checks, request.profile.as_deref()) {
            let profile = &config.profiles[&name];
            report.profile_proxy = profile.proxy.as_deref().map(mask_credentials);
            if profile.insecure {
                report.warnings.push(format!(
                    "tls certificate verification is off for profile `{name}` (`insecure = true`): \
                     anyone on the network path can read its tokens"
                ));
            }
            report.profile = Some(name.clone());
            if self.check_keyring(&mut checks, &name).await {
                match self.state_for(&name, &config).await {
                    Ok(state) => state.diagnose(&mut checks).await,
                    Err(failure) => checks.fail(Step::Secrets, failure),
                }
            }
        }
        report.steps = checks.finish();
        report
    }

    /// config.toml loads, names the profile, and its `cacert` and `proxy` are usable.
    fn check_config(
        &self,
        checks: &mut Checklist,
        given: Option<&str>,
    ) -> Option<(String, Arc<Config>)> {
        let (config, error) = self.config.current_with_error();
        let found = match error {
            Some(error) => Err(self.config_failure(error)),
            None => find_profile(given, &config),
        };
        let path = self.config.path().display();
        let name = checks.record(Step::Config, found, |name| {
            format!("{path} loads; profile `{name}`")
        })?;
        Some((name, config))
    }

    /// The store opens and answers a read (a locked Secret Service collection fails it).
    async fn check_keyring(&self, checks: &mut Checklist, name: &str) -> bool {
        let opened = match self.store().await {
            Ok(opened) => opened,
            Err(failure) => {
                checks.fail(Step::Keyring, failure);
                return false;
            }
        };
        let read = store::get(&opened, name, SecretKind::Identity).await;
        let store_name = opened.name();
        checks
            .record(Step::Keyring, read, |_| match store_name {
                "secret-service" => "secret-service answers; its collection is unlocked".to_owned(),
                other => format!("{other} answers"),
            })
            .is_some()
    }
}

fn find_profile(given: Option<&str>, config: &Config) -> Result<String, Failure> {
    let name = resolve_profile_name(given, config)?;
    check_profile_name(&name)?;
    let profile = config
        .profiles
        .get(&name)
        .ok_or_else(|| profile_not_found(&name, config))?;
    http::client_for(profile)?;
    Ok(name)
}

impl ProfileState {
    /// Secrets, discovery, TLS, Keycloak, federation, project, clock.
    pub(super) async fn diagnose(&self, checks: &mut Checklist) {
        let name = &self.name;
        let Some((password, client_secret)) =
            checks.record(Step::Secrets, self.credentials().await, |_| {
                format!("the password and client secret of profile `{name}` are in the keyring")
            })
        else {
            return;
        };
        // A client of its own, so that reachability and TLS are judged on new connections
        // with a full handshake, not on a kept-alive one from an earlier request.
        let fresh = match http::client_for(&self.config) {
            Ok(fresh) => fresh,
            Err(err) => {
                checks.fail(Step::Discovery, err);
                return;
            }
        };
        let mut clocks = Vec::new();
        let Some(discovery) = self.check_reachable(&fresh, checks, &mut clocks).await else {
            return;
        };
        let Some(session) = self
            .check_login(checks, &discovery, &password, &client_secret)
            .await
        else {
            return;
        };
        let scoped = self.check_scope(&session).await;
        let scoped = checks.record(Step::Project, scoped, |token| {
            let project = token.project.as_ref().map_or_else(String::new, |p| {
                format!(" to project `{}` ({})", p.name, p.id)
            });
            let valid = std::time::Duration::from_secs(token.lifetime.length.as_secs());
            format!(
                "keystone scoped a token{project}, valid for {}",
                humantime::format_duration(valid)
            )
        });
        checks.record(Step::Clock, doctor::check_clock(&clocks), Clone::clone);
        let mut issued = vec![session.token];
        issued.extend(scoped.map(|token| token.token));
        for token in &issued {
            self.revoke(token).await;
        }
    }

    /// Keycloak (unless it rejected this password before: then nothing is sent), then the
    /// Keystone federation: the session a token request would have.
    async fn check_login(
        &self,
        checks: &mut Checklist,
        discovery: &Discovery,
        password: &Secret,
        client_secret: &Secret,
    ) -> Option<Session> {
        if self.needs_login() {
            checks.fail(Step::Keycloak, self.login_required());
            return None;
        }
        let client = self.client_credentials(client_secret);
        let grant = self.password_grant(discovery, &client, password).await;
        let tokens = checks.record(Step::Keycloak, grant, |_| {
            format!(
                "user `{}` logged in to {}",
                self.config.username,
                discovery.label()
            )
        })?;
        let federated = keystone::federated_auth(
            &self.http,
            &self.auth_url,
            &self.config.identity_provider,
            &self.config.protocol,
            &tokens.access_token,
        )
        .await;
        let unscoped = checks.record(Step::Federation, federated, |_| {
            format!(
                "keystone issued a token for identity provider `{}` (protocol `{}`)",
                self.config.identity_provider, self.config.protocol
            )
        })?;
        Some(Session {
            token: unscoped.token,
            lifetime: unscoped.lifetime,
            claimed_projects: oidc::projects_claim(&tokens.access_token),
        })
    }

    /// Discovery and TLS: Keycloak's discovery document, then Keystone's version document
    /// (unauthenticated) to see its certificate. A TLS failure means the host answered, so
    /// discovery passes and TLS fails. Each answer's `Date` goes to `clocks`.
    async fn check_reachable(
        &self,
        fresh: &reqwest::Client,
        checks: &mut Checklist,
        clocks: &mut Vec<ClockReading>,
    ) -> Option<Discovery> {
        let url = &self.config.discovery_endpoint;
        let answer = match oidc::get_discovery(fresh, url).await {
            Err(err) if err.transport == Transport::Tls => {
                checks.pass(
                    Step::Discovery,
                    format!("keycloak answers at {url}; its certificate is checked next"),
                );
                checks.fail(Step::Tls, err);
                return None;
            }
            Err(err) => {
                checks.fail(Step::Discovery, OidcError::discovery_send(url, err));
                return None;
            }
            Ok(answer) => answer,
        };
        clocks.extend(ClockReading::of("keycloak", &answer, SystemTime::now()));
        let discovery =
            checks.record(Step::Discovery, oidc::read_discovery(url, &answer), |d| {
                format!("{url} names the token endpoint {}", d.token_endpoint)
            })?;
        let answered = match keystone::probe(fresh, &self.auth_url).await {
            Ok(answer) => {
                clocks.extend(ClockReading::of("keystone", &answer, SystemTime::now()));
                true
            }
            Err(err) if err.transport == Transport::Tls => {
                checks.fail(Step::Tls, err);
                return None;
            }
            // Not a certificate problem: the federation step reports it.
            Err(_) => false,
        };
        checks.pass(Step::Tls, self.tls_detail(answered));
        Some(discovery)
    }

    fn tls_detail(&self, keystone_answered: bool) -> String {
        if self.config.insecure {
            return "not verified: `insecure = true`".to_owned();
        }
        let https = |url: &str| url.starts_with("https:");
        match (
            https(&self.config.discovery_endpoint),
            https(self.auth_url.as_str()),
        ) {
            (false, false) => "not used: keycloak and keystone are plain http".to_owned(),
            (_, true) if !keystone_answered => {
                "keystone did not answer its version request (see the federation step)".to_owned()
            }
            (true, true) => "the certificates of keycloak and keystone are trusted".to_owned(),
            (true, false) => "keycloak's certificate is trusted; keystone is plain http".to_owned(),
            (false, true) => "keystone's certificate is trusted; keycloak is plain http".to_owned(),
        }
    }

    /// The configured project, or the error that lists the choices when there is none.
    async fn check_scope(&self, session: &Session) -> Result<keystone::KeystoneToken, Failure> {
        let Some(project) = self.config.project() else {
            let listed = keystone::projects(&self.http, &self.auth_url, &session.token).await;
            return Err(self.no_project_failure(listed.map_err(Failure::from)));
        };
        match self.scope(session, &project).await {
            Err(err) if err.kind() == ErrorKind::ProjectForbidden => {
                Err(self.explain_refusal(session, &project, err.into()).await)
            }
            other => other.map_err(Failure::from),
        }
    }
}
