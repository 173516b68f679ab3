//! An in-process [`SecretStore`] for tests of the broker and the API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use opcp_cred_proto::Secret;

use super::{SecretKind, SecretStore, StoreError};

type Secrets = HashMap<(String, SecretKind), Secret>;

/// Secrets in a map. [`MemoryStore::set_available`] makes it fail like a locked keyring.
#[derive(Debug, Default)]
pub struct MemoryStore {
    secrets: Mutex<Secrets>,
    unavailable: AtomicBool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// `false`: every call fails with a `KeyringUnavailable` error until set back to `true`.
    pub fn set_available(&self, available: bool) {
        self.unavailable.store(!available, Ordering::SeqCst);
    }

    fn secrets(
        &self,
        profile: &str,
        kind: SecretKind,
    ) -> Result<MutexGuard<'_, Secrets>, StoreError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Access {
                store: "memory",
                entry: kind.entry_user(profile),
                detail: "the test made the store unavailable".to_owned(),
            });
        }
        Ok(self.secrets.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SecretStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, StoreError> {
        let secrets = self.secrets(profile, kind)?;
        Ok(secrets.get(&(profile.to_owned(), kind)).cloned())
    }

    fn set(&self, profile: &str, kind: SecretKind, value: &Secret) -> Result<(), StoreError> {
        let mut secrets = self.secrets(profile, kind)?;
        secrets.insert((profile.to_owned(), kind), value.clone());
        Ok(())
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<(), StoreError> {
        let mut secrets = self.secrets(profile, kind)?;
        secrets.remove(&(profile.to_owned(), kind));
        Ok(())
    }
}
