//! Identifiers in the shapes the real servers use: UUIDs (Keycloak), 32-hex ids and
//! Fernet-looking token ids (Keystone).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// A random version-4 UUID, as Keycloak uses for session and token ids.
pub(crate) fn uuid() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A 32-hex id derived from `parts`, so the same user or role gets the same id every time.
pub(crate) fn stable_hex(parts: &[&str]) -> String {
    hex(&digest(parts)[..16])
}

/// A 64-hex id derived from `parts`: Keystone's ids of federated users are SHA-256 digests.
pub(crate) fn stable_sha256_hex(parts: &[&str]) -> String {
    hex(&digest(parts))
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

/// A random urlsafe string of `bytes` random bytes, as Keystone's audit ids.
pub(crate) fn urlsafe(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A Keystone token id: opaque, ~180 characters, starting like every Fernet token does
/// (`gAAAAA`: version byte 0x80 and the high bytes of a timestamp).
pub(crate) fn fernet_like() -> String {
    format!("gAAAAA{}", urlsafe(132))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        write!(out, "{byte:02x}").expect("writing to a String never fails");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::{fernet_like, stable_hex, stable_sha256_hex, uuid};

    #[test]
    fn shapes() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(stable_hex(&["a", "b"]).len(), 32);
        assert_eq!(stable_hex(&["a", "b"]), stable_hex(&["a", "b"]));
        assert_ne!(stable_hex(&["a", "b"]), stable_hex(&["ab"]));
        assert_eq!(stable_sha256_hex(&["a", "b"]).len(), 64);
        let token = fernet_like();
        assert!(token.starts_with("gAAAAA"));
        assert!((170..=190).contains(&token.len()));
        assert_ne!(token, fernet_like());
    }
}
