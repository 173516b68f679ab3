//! Keyring errors: which store, which entry, and how to get it working. Never the secret.

use opcp_cred_proto::ErrorKind;

use crate::error::Actionable;

const OR_KEYUTILS: &str = "or set `keyring = \"keyutils\"` in config.toml";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no D-Bus session bus for the secret service (DBUS_SESSION_BUS_ADDRESS unset and no $XDG_RUNTIME_DIR/bus)"
    )]
    NoSessionBus,
    #[error("the secret service cannot be reached on the D-Bus session bus: {detail}")]
    SecretServiceUnavailable { detail: String },
    #[error("the secret service has no default collection (login keyring)")]
    NoDefaultCollection,
    #[error("the secret service's default collection (login keyring) is locked")]
    Locked,
    #[error("the kernel keyutils store cannot be used: {detail}")]
    KeyutilsUnavailable { detail: String },
    #[error("the {store} keyring refused access to entry `{entry}`: {detail}")]
    Access {
        store: &'static str,
        entry: String,
        detail: String,
    },
    #[error("the {store} keyring failed on entry `{entry}`: {detail}")]
    Failed {
        store: &'static str,
        entry: String,
        detail: String,
    },
    #[error("the {store} keyring entry `{entry}` does not hold text")]
    NotText { store: &'static str, entry: String },
    #[error("{count} items of the {store} keyring match entry `{entry}`")]
    Ambiguous {
        store: &'static str,
        entry: String,
        count: usize,
    },
    #[error("the {store} keyring did not answer within {secs} s")]
    Timeout { store: &'static str, secs: u64 },
    #[error("no keyring is usable: {secret_service}; and {keyutils}")]
    NoneUsable {
        secret_service: Box<StoreError>,
        keyutils: Box<StoreError>,
    },
}

impl Actionable for StoreError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::KeyringUnavailable
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::NoSessionBus => format!(
                "start the daemon from your desktop session (or under `dbus-run-session`), {OR_KEYUTILS}"
            ),
            Self::SecretServiceUnavailable { .. } => format!(
                "start a Secret Service provider (gnome-keyring-daemon, KeePassXC, KWallet), {OR_KEYUTILS}"
            ),
            Self::NoDefaultCollection => format!(
                "create a login keyring (log in once to the desktop, or `printf PASSWORD | gnome-keyring-daemon --unlock`), {OR_KEYUTILS}"
            ),
            Self::Locked | Self::Access { store: "secret-service", .. } => format!(
                "unlock your login keyring (e.g. `gnome-keyring-daemon --unlock`) {OR_KEYUTILS}"
            ),
            Self::KeyutilsUnavailable { .. } => "keyctl system calls may be blocked (container seccomp profiles block them): run the daemon on the host, or set `keyring = \"secret-service\"` in config.toml".to_owned(),
            Self::Access { .. } => "the key belongs to another user or session: store it again with `opcp-cred login`".to_owned(),
            Self::Failed { store, .. } => format!(
                "check that the {store} keyring works (`secret-tool` or `keyctl`), then retry; the daemon log has details"
            ),
            Self::NotText { entry, .. } => format!(
                "store the secret again with `opcp-cred login` (it replaces `{entry}`)"
            ),
            Self::Ambiguous { entry, .. } => format!(
                "remove the duplicates with `secret-tool clear service {} username {entry}`, then run `opcp-cred login` again",
                super::SERVICE
            ),
            Self::Timeout { .. } => "check that the keyring answers (an unlock prompt waiting on the screen?), then retry".to_owned(),
            Self::NoneUsable { .. } => {
                "set `keyring` in config.toml to the store you want and fix what its error says".to_owned()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_keyring_unavailable_with_a_hint() {
        let locked = StoreError::Locked;
        assert_eq!(locked.kind(), ErrorKind::KeyringUnavailable);
        assert_eq!(
            locked.hint().unwrap(),
            "unlock your login keyring (e.g. `gnome-keyring-daemon --unlock`) or set `keyring = \"keyutils\"` in config.toml"
        );
        let no_bus = StoreError::NoSessionBus;
        assert!(no_bus.to_string().starts_with("no D-Bus session bus"));
        assert!(
            no_bus
                .to_string()
                .contains("DBUS_SESSION_BUS_ADDRESS unset")
        );
        let both = StoreError::NoneUsable {
            secret_service: Box::new(StoreError::NoSessionBus),
            keyutils: Box::new(StoreError::KeyutilsUnavailable {
                detail: "access denied".into(),
            }),
        };
        assert!(
            both.to_string()
                .contains("keyutils store cannot be used: access denied")
        );
    }
}
