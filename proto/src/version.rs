//! The protocol version.
//!
//! A literal, bumped by hand when a change to [`crate::messages`] or [`crate::routes`] would
//! break an older peer. The routes carry the major part (`/v1`); `GET /v1/status` reports this
//! number so a client can tell which side is older.

/// The socket API version both binaries speak.
pub const API_VERSION: u32 = 1;

/// Which side of a version mismatch is older, phrased for the user.
pub fn mismatch_advice(client: u32, daemon: u32) -> Option<String> {
    use std::cmp::Ordering;
    match client.cmp(&daemon) {
        Ordering::Equal => None,
        Ordering::Less => Some(format!(
            "opcp-cred speaks API v{client} but opcp-credd speaks v{daemon}: the client is older; install the same release of both"
        )),
        Ordering::Greater => Some(format!(
            "opcp-cred speaks API v{client} but opcp-credd speaks v{daemon}: the daemon is older; restart it after upgrading (`systemctl --user restart opcp-credd`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_a_literal_one() {
        assert_eq!(API_VERSION, 1);
    }

    #[test]
    fn mismatch_names_the_older_side() {
        assert!(mismatch_advice(1, 1).is_none());
        assert!(mismatch_advice(1, 2).unwrap().contains("client is older"));
        assert!(mismatch_advice(2, 1).unwrap().contains("daemon is older"));
    }
}
