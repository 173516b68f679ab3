//! The Secret Service store (gnome-keyring, KWallet, KeePassXC) on the D-Bus session bus.
//!
//! The keyring-core store unlocks a locked collection by asking the provider for a prompt. A
//! background daemon must not do that: on a desktop a dialog would pop up out of nowhere, on a
//! headless host the call fails or hangs. So the store is paired with a [`LockProbe`] that
//! reads the default collection's `Locked` property (no prompt) before every call.

use std::ffi::OsString;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use secret_service::EncryptionType;
use secret_service::blocking::SecretService;

use super::keyring::KeyringStore;
use super::{SecretStore, StoreError};

/// How long `auto` waits for the Secret Service before it falls back to keyutils (D-Bus
/// activation of gnome-keyring takes a moment; a wedged provider must not block start-up).
pub(super) const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// An entry that never exists: looking it up proves that searching works, harmlessly.
const PROBE_USER: &str = "<probe>";

/// Connect, refuse a locked or missing default collection, probe with a lookup.
pub(super) fn open() -> Result<Arc<dyn SecretStore>, StoreError> {
    if !session_bus_configured(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS"),
        std::env::var_os("XDG_RUNTIME_DIR"),
    ) {
        return Err(StoreError::NoSessionBus);
    }
    let probe = LockProbe::connect()?;
    probe.check()?;
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|err| {
        StoreError::SecretServiceUnavailable {
            detail: err.to_string(),
        }
    })?;
    let store = KeyringStore::secret_service(store, probe);
    store.read(PROBE_USER)?;
    Ok(Arc::new(store))
}

/// [`open`], giving up after `timeout` (the attempt is left to finish on its own thread).
pub(super) fn open_within(timeout: Duration) -> Result<Arc<dyn SecretStore>, StoreError> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("secret-service-probe".to_owned())
        .spawn(move || {
            // The receiver is gone after a timeout: nobody wants the answer any more.
            let _ = sender.send(open());
        })
        .map_err(|err| StoreError::SecretServiceUnavailable {
            detail: format!("cannot start the probe thread: {err}"),
        })?;
    receiver
        .recv_timeout(timeout)
        .unwrap_or(Err(StoreError::Timeout {
            store: "secret-service",
            secs: timeout.as_secs(),
        }))
}

/// Whether zbus has a session bus address to try: `DBUS_SESSION_BUS_ADDRESS`, or its fallback
/// `$XDG_RUNTIME_DIR/bus` (systemd user sessions).
fn session_bus_configured(address: Option<OsString>, runtime_dir: Option<OsString>) -> bool {
    address.is_some_and(|address| !address.is_empty())
        || runtime_dir
            .filter(|dir| !dir.is_empty())
            .is_some_and(|dir| Path::new(&dir).join("bus").exists())
}

/// A second, plain (no secrets cross it) Secret Service session that only reads lock state.
pub(super) struct LockProbe {
    service: Mutex<SecretService<'static>>,
}

impl std::fmt::Debug for LockProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockProbe").finish_non_exhaustive()
    }
}

impl LockProbe {
    fn connect() -> Result<Self, StoreError> {
        let service = SecretService::connect(EncryptionType::Plain).map_err(|err| {
            StoreError::SecretServiceUnavailable {
                detail: err.to_string(),
            }
        })?;
        Ok(Self {
            service: Mutex::new(service),
        })
    }

    /// `Ok` when the default collection exists and is unlocked.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        let service = self.service.lock().unwrap_or_else(PoisonError::into_inner);
        let collection = service.get_default_collection().map_err(|err| match err {
            secret_service::Error::NoResult => StoreError::NoDefaultCollection,
            other => unavailable(&other),
        })?;
        if collection.is_locked().map_err(|err| unavailable(&err))? {
            return Err(StoreError::Locked);
        }
        Ok(())
    }
}

fn unavailable(err: &secret_service::Error) -> StoreError {
    StoreError::SecretServiceUnavailable {
        detail: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_bus_needs_an_address_or_a_runtime_bus_socket() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = Some(dir.path().as_os_str().to_owned());
        assert!(session_bus_configured(Some("unix:path=/x".into()), None));
        assert!(!session_bus_configured(Some(OsString::new()), None));
        assert!(!session_bus_configured(None, runtime.clone()));
        std::fs::write(dir.path().join("bus"), "").unwrap();
        assert!(session_bus_configured(None, runtime));
    }
}
