//! HTTP routes of the daemon, all under `/v1`.

/// The largest request body the daemon reads. Requests are tiny; a client refuses to send more
/// and names the value that is too long.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `GET`: daemon version, keyring store in use, cached tokens per profile.
pub const STATUS: &str = "/v1/status";
/// `POST` [`crate::messages::TokenRequest`] → [`crate::messages::TokenResponse`].
pub const TOKEN: &str = "/v1/token";
/// `POST` [`crate::doctor::DoctorRequest`] → [`crate::doctor::DoctorReport`]: the checks of
/// `opcp-cred doctor`. Not under `/v1/profiles/{name}`: the profile may be the daemon's
/// default, and when config.toml is broken that name is exactly what cannot be known.
pub const DOCTOR: &str = "/v1/doctor";
/// `GET` → [`crate::messages::ProfileList`].
pub const PROFILES: &str = "/v1/profiles";
/// `PUT` [`crate::messages::PutProfile`] (verified by a real login before anything is stored),
/// `DELETE` (revoke upstream, forget the cache, delete the keyring entries).
pub const PROFILE: &str = "/v1/profiles/{name}";
/// `GET` → [`crate::messages::ProjectList`]: the projects the profile's user may scope to.
pub const PROFILE_PROJECTS: &str = "/v1/profiles/{name}/projects";

/// [`PROFILE`] for one profile name. Names are restricted (see
/// [`crate::messages::valid_profile_name`]) so they need no escaping in a path.
pub fn profile(name: &str) -> String {
    PROFILE.replace("{name}", name)
}

/// [`PROFILE_PROJECTS`] for one profile name.
pub fn profile_projects(name: &str) -> String {
    PROFILE_PROJECTS.replace("{name}", name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_expand() {
        assert_eq!(super::profile("pod"), "/v1/profiles/pod");
        assert_eq!(super::profile_projects("pod"), "/v1/profiles/pod/projects");
    }
}
