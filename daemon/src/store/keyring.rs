//! A [`SecretStore`] over one `keyring-core` credential store (Secret Service or keyutils).

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error};
use opcp_cred_proto::Secret;

use super::secret_service::LockProbe;
use super::{SERVICE, SecretKind, SecretStore, StoreError};

#[derive(Debug)]
pub(super) struct KeyringStore {
    name: &'static str,
    /// Our own store object; entries are built with `Entry::new_in_store`, never from the
    /// process-global default store.
    store: Arc<CredentialStore>,
    /// Secret Service only: asked before every call, so that a locked collection gives
    /// [`StoreError::Locked`] instead of an unlock prompt that nobody may answer.
    lock_probe: Option<LockProbe>,
    /// keyutils only: delete before set, see `keyutils.rs`.
    delete_before_set: bool,
}

impl KeyringStore {
    pub(super) fn secret_service(store: Arc<CredentialStore>, lock_probe: LockProbe) -> Self {
        Self {
            name: "secret-service",
            store,
            lock_probe: Some(lock_probe),
            delete_before_set: false,
        }
    }

    pub(super) fn keyutils(store: Arc<CredentialStore>) -> Self {
        Self {
            name: "keyutils",
            store,
            lock_probe: None,
            delete_before_set: true,
        }
    }

    fn entry(&self, user: &str) -> Result<Entry, StoreError> {
        if let Some(probe) = &self.lock_probe {
            probe.check()?;
        }
        Entry::new_in_store(&self.store, SERVICE, user).map_err(|err| self.error(user, err))
    }

    /// The entry's secret; `None` when there is none. Used by `open` as a harmless probe too.
    pub(super) fn read(&self, user: &str) -> Result<Option<Secret>, StoreError> {
        match self.entry(user)?.get_secret() {
            Ok(bytes) => secret_from(bytes)
                .map(Some)
                .map_err(|()| StoreError::NotText {
                    store: self.name,
                    entry: user.to_owned(),
                }),
            Err(Error::NoEntry) => Ok(None),
            Err(err) => Err(self.error(user, err)),
        }
    }

    fn remove(&self, user: &str) -> Result<(), StoreError> {
        match self.entry(user)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(err) => Err(self.error(user, err)),
        }
    }

    /// The store's error, without anything that could hold the secret.
    fn error(&self, user: &str, err: Error) -> StoreError {
        let (store, entry) = (self.name, user.to_owned());
        match err {
            Error::NoStorageAccess(source) => StoreError::Access {
                store,
                entry,
                detail: source.to_string(),
            },
            // Both carry the stored bytes: never format them.
            Error::BadEncoding(_) | Error::BadDataFormat(..) => {
                StoreError::NotText { store, entry }
            }
            Error::Ambiguous(items) => StoreError::Ambiguous {
                store,
                entry,
                count: items.len(),
            },
            Error::PlatformFailure(source) => StoreError::Failed {
                store,
                entry,
                detail: source.to_string(),
            },
            other => StoreError::Failed {
                store,
                entry,
                detail: other.to_string(),
            },
        }
    }
}

/// The bytes as a [`Secret`]; bytes that are not UTF-8 are wiped, not kept in an error.
fn secret_from(bytes: Vec<u8>) -> Result<Secret, ()> {
    String::from_utf8(bytes).map(Secret::new).map_err(|err| {
        let mut bytes = err.into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    })
}

impl SecretStore for KeyringStore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>, StoreError> {
        self.read(&kind.entry_user(profile))
    }

    fn set(&self, profile: &str, kind: SecretKind, value: &Secret) -> Result<(), StoreError> {
        let user = kind.entry_user(profile);
        if self.delete_before_set {
            self.remove(&user)?;
        }
        self.entry(&user)?
            .set_secret(value.expose().as_bytes())
            .map_err(|err| self.error(&user, err))
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<(), StoreError> {
        self.remove(&kind.entry_user(profile))
    }
}

#[cfg(test)]
mod tests {
    use super::secret_from;

    #[test]
    fn non_utf8_is_refused() {
        assert_eq!(
            secret_from(b"fake-pw".to_vec()).unwrap().expose(),
            "fake-pw"
        );
        assert!(secret_from(vec![0xff, 0xfe]).is_err());
    }
}
