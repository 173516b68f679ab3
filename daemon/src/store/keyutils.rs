//! The kernel keyutils store, for hosts without a Secret Service.
//!
//! Where the keys live, and why a restarted daemon still finds them:
//!
//! - The store crate (`linux-keyutils-keyring-store` 1) adds each key, type `user`,
//!   description `keyring:<profile>/<kind>@opcp-cred`, to the process's **session keyring**
//!   (looked up without creating one: a process that has none gets the per-uid user-session
//!   keyring `_uid_ses.<uid>`), and links it into the uid's **persistent keyring**
//!   (`keyctl get_persistent`), which it also links into the session keyring. A read searches
//!   the session keyring, so it reaches keys through that link, and re-links what it finds.
//! - A session keyring can be an anonymous one that dies with its last process: `keyctl
//!   session -`, systemd's `KeyringMode=private`, or a login's own `_ses` from `pam_keyinit`
//!   once that login ends. A key only in such a keyring would vanish with the daemon, and the
//!   next daemon (autostarted from another shell, or by systemd) would ask for a new login.
//!   The persistent keyring is what bridges them: it is per uid, not per session, so a daemon
//!   started later, in any session of the same user, links it in and reads the keys. The
//!   kernel expires it `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds (3 days by
//!   default) after its last use; every entry the store builds renews that, and a reboot
//!   clears it: then `opcp-cred login` is needed again.
//! - Possession matters: keys are created readable by their possessor only, and the daemon
//!   possesses them through session keyring → persistent keyring → key. That keeps them from
//!   other users and off the disk, not from the same user: any process of the uid can link
//!   the persistent keyring (`keyctl get_persistent`) and read them, as any process of the
//!   user can ask an unlocked Secret Service.
//!
//! So the store is used with its default placement, and [`open`] checks that the persistent
//! keyring is really there (kernels built without `CONFIG_PERSISTENT_KEYRINGS` lack it) and
//! warns when it is not. Two settings on top: `service_no_divider` (the description cannot be
//! ambiguous: profile names have no `@`), and delete before set: a set from one session adds
//! a new key there and displaces the old one only from the persistent keyring, so an older
//! copy still linked in another live session would be found first by a daemon started there;
//! deleting first invalidates the old key everywhere.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use linux_keyutils_keyring_store::{Cred, Store};

use super::keyring::KeyringStore;
use super::{SERVICE, SecretStore, StoreError};

/// An entry that never exists: reading it proves the keyctl calls work, harmlessly.
const PROBE_USER: &str = "<probe>";

/// Give the process a session keyring of its own, before any thread starts (a session keyring
/// belongs to the credentials of the thread that joins it; threads created later inherit it).
///
/// Without one, the process uses the user's shared default session keyring `_uid_ses.<uid>`,
/// into which the kernel does not link the persistent keyring: keys are then reachable only
/// through their link in that shared keyring, which other processes of the user can drop, and
/// a secret became unreachable (so not deletable) or reappeared after `logout`. In a session
/// keyring of our own, the persistent keyring is linked and every key is reached through it.
pub fn join_private_session() {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) takes no pointer but the null name, touches
    // no memory of ours, and only replaces this thread's session keyring.
    #[allow(unsafe_code)]
    let id = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if id < 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "no private session keyring (keyutils unavailable?)"
        );
    }
}

pub(super) fn open() -> Result<Arc<dyn SecretStore>, StoreError> {
    let settings = HashMap::from([("service_no_divider", "true")]);
    let store: Arc<CredentialStore> =
        Store::new_with_configuration(&settings).map_err(|err| unavailable(&err))?;
    // Building an entry reaches the session keyring and links the persistent keyring.
    let probe =
        Entry::new_in_store(&store, SERVICE, PROBE_USER).map_err(|err| unavailable(&err))?;
    let persistent = probe
        .as_any()
        .downcast_ref::<Cred>()
        .is_some_and(|cred| cred.persistent.is_some());
    if !persistent {
        tracing::warn!(
            "keyutils has no persistent keyring here: secrets last only as long as this \
             daemon's session keyring, and a daemon restarted elsewhere will need a new login"
        );
    }
    let store = KeyringStore::keyutils(store);
    store
        .read(PROBE_USER)
        .map_err(|err| StoreError::KeyutilsUnavailable {
            detail: err.to_string(),
        })?;
    Ok(Arc::new(store))
}

fn unavailable(err: &keyring_core::Error) -> StoreError {
    StoreError::KeyutilsUnavailable {
        detail: err.to_string(),
    }
}
