//! Passwords and client secrets in the OS keyring.
//!
//! One keyring entry per secret: service `opcp-cred`, user `<profile>/password` or
//! `<profile>/client-secret`. The daemon holds one [`SecretStore`] (`Arc<dyn SecretStore>`):
//!
//! - `secret-service` (`secret_service.rs`): gnome-keyring, KWallet, KeePassXC over D-Bus. A
//!   locked default collection is reported, never unlocked by a prompt from the background.
//! - `keyutils` (`keyutils.rs`): the kernel key store, for headless hosts; see there how keys
//!   outlive a daemon restart.
//! - `memory` ([`MemoryStore`]): for tests of other modules.
//!
//! Both real stores go through `keyring-core` (`keyring.rs`), each with its own store object:
//! never the process-global default store. [`open`] picks one from the config's `keyring`.
//! The trait is blocking (D-Bus and keyctl calls); the async [`get`], [`set`] and [`delete`]
//! run it on tokio's blocking pool with a timeout.

mod error;
mod keyring;
mod keyutils;
mod memory;
mod secret_service;

use std::sync::Arc;
use std::time::Duration;

use opcp_cred_proto::Secret;

use crate::config::KeyringChoice;

pub use error::StoreError;
pub use keyutils::join_private_session;
pub use memory::MemoryStore;

/// The keyring service name of every entry.
pub const SERVICE: &str = "opcp-cred";

/// How long an async call waits for the keyring before giving up (a hung D-Bus peer, a
/// forgotten unlock prompt).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Which secret of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    Password,
    ClientSecret,
    /// Not secret: whom the two others were stored for (discovery URL, client, user). The
    /// keyring is per user, not per config file, so two configs of one user can name a
    /// profile alike; this keeps one's password from being sent to the other's Keycloak.
    Identity,
}

impl SecretKind {
    /// The suffix of the entry's user name.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::ClientSecret => "client-secret",
            Self::Identity => "identity",
        }
    }

    /// The keyring user name of this secret of `profile`: `<profile>/<suffix>`.
    pub fn entry_user(self, profile: &str) -> String {
        format!("{profile}/{}", self.suffix())
    }
}

/// A keyring. Blocking: call it through [`get`], [`set`] and [`delete`] from async code.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// `secret-service`, `keyutils` or `memory`.
    fn name(&self) -> &'static str;

    /// `None` when the entry does not exist.
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, StoreError>;

    /// Creates or replaces the entry. keyutils refuses an empty value: callers check first.
    fn set(&self, profile: &str, kind: SecretKind, value: &Secret) -> Result<(), StoreError>;

    /// Deleting a missing entry is not an error.
    fn delete(&self, profile: &str, kind: SecretKind) -> Result<(), StoreError>;
}

/// Open the store the config asks for. Blocking (D-Bus round trips): call it at start-up or
/// from `spawn_blocking`.
pub fn open(choice: KeyringChoice) -> Result<Arc<dyn SecretStore>, StoreError> {
    let store = match choice {
        KeyringChoice::SecretService => secret_service::open()?,
        KeyringChoice::Keyutils => keyutils::open()?,
        KeyringChoice::Auto => open_auto()?,
    };
    tracing::info!(
        keyring = store.name(),
        choice = choice.as_str(),
        "keyring store opened"
    );
    Ok(store)
}

/// Secret Service when it is reachable and unlocked, else keyutils.
fn open_auto() -> Result<Arc<dyn SecretStore>, StoreError> {
    let secret_service = match secret_service::open_within(secret_service::PROBE_TIMEOUT) {
        Ok(store) => return Ok(store),
        Err(err) => err,
    };
    tracing::info!(reason = %secret_service, "secret service not usable; trying keyutils");
    keyutils::open().map_err(|keyutils| StoreError::NoneUsable {
        secret_service: Box::new(secret_service),
        keyutils: Box::new(keyutils),
    })
}

/// [`SecretStore::get`] on the blocking pool.
pub async fn get(
    store: &Arc<dyn SecretStore>,
    profile: &str,
    kind: SecretKind,
) -> Result<Option<Secret>, StoreError> {
    let (store, profile) = (Arc::clone(store), profile.to_owned());
    blocking(store.name(), kind.entry_user(&profile), move || {
        store.get(&profile, kind)
    })
    .await
}

/// [`SecretStore::set`] on the blocking pool.
pub async fn set(
    store: &Arc<dyn SecretStore>,
    profile: &str,
    kind: SecretKind,
    value: &Secret,
) -> Result<(), StoreError> {
    let (store, profile, value) = (Arc::clone(store), profile.to_owned(), value.clone());
    blocking(store.name(), kind.entry_user(&profile), move || {
        store.set(&profile, kind, &value)
    })
    .await
}

/// [`SecretStore::delete`] on the blocking pool.
pub async fn delete(
    store: &Arc<dyn SecretStore>,
    profile: &str,
    kind: SecretKind,
) -> Result<(), StoreError> {
    let (store, profile) = (Arc::clone(store), profile.to_owned());
    blocking(store.name(), kind.entry_user(&profile), move || {
        store.delete(&profile, kind)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    store: &'static str,
    entry: String,
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_TIMEOUT, tokio::task::spawn_blocking(call)).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(StoreError::Failed {
            store,
            entry,
            detail: format!("the keyring call did not complete ({join})"),
        }),
        // The blocking thread stays stuck on its call; the request at least gets an answer.
        Err(_) => Err(StoreError::Timeout {
            store,
            secs: CALL_TIMEOUT.as_secs(),
        }),
    }
}

#[cfg(test)]
mod tests;
