//! The default cloud: realms, users, clients, identity providers and projects.
//!
//! All secrets here are obviously fake. Tests use the constants; [`SimConfig`] holds the
//! specs, so a test can add a user or a project before starting the simulator.
//!
//! [`SimConfig`]: super::SimConfig

use opcp_cred_proto::Secret;

/// The password of every fixture user.
pub const PASSWORD: &str = "correct-horse-fake";
/// The confidential client with direct access grants on, in both realms.
pub const CLIENT_ID: &str = "openstack-cli";
pub const CLIENT_SECRET: &str = "fake-client-secret";
/// A confidential client (same secret) with direct access grants off.
pub const NO_DAG_CLIENT_ID: &str = "no-dag";

/// Realm `pod` and the Keystone identity provider that trusts it.
pub const REALM: &str = "pod";
pub const IDP: &str = "keycloak";
/// Realm `master` and the Keystone identity provider that trusts it.
pub const ADMIN_REALM: &str = "master";
pub const ADMIN_IDP: &str = "keycloak-admin";
/// The federation protocol of both identity providers.
pub const PROTOCOL: &str = "openid";

/// The user of realm `pod`, allowed on projects `web` and `db`.
pub const USER: &str = "alice";
/// A user of realm `pod` with pending required actions (password grants fail).
pub const USER_REQUIRED_ACTIONS: &str = "bob";
/// The user of realm `master`, allowed on project `web`.
pub const ADMIN_USER: &str = "admin-alice";

pub const DOMAIN_ID: &str = "default";
pub const DOMAIN_NAME: &str = "Default";
pub const PROJECT_WEB: &str = "web";
pub const PROJECT_WEB_ID: &str = "11111111111111111111111111111111";
pub const PROJECT_DB: &str = "db";
pub const PROJECT_DB_ID: &str = "22222222222222222222222222222222";
/// A project that exists but that no user's `projects` claim lists.
pub const PROJECT_SECRET: &str = "secret";
pub const PROJECT_SECRET_ID: &str = "33333333333333333333333333333333";

/// A Keycloak realm.
#[derive(Clone, Debug)]
pub struct RealmSpec {
    pub name: String,
    pub users: Vec<UserSpec>,
    pub clients: Vec<ClientSpec>,
}

/// A Keycloak user.
#[derive(Clone, Debug)]
pub struct UserSpec {
    pub username: String,
    pub password: Secret,
    /// The `projects` claim of the user's access tokens: project ids or names, as the OPCP
    /// Keycloak mapper writes them. Keystone lets the user scope only to these.
    pub projects: Vec<String>,
    /// Pending required actions make Keycloak refuse password grants.
    pub required_actions: bool,
}

/// A confidential Keycloak client.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    pub client_id: String,
    pub secret: Secret,
    pub direct_access_grants: bool,
}

/// A Keystone project.
#[derive(Clone, Debug)]
pub struct ProjectSpec {
    pub id: String,
    pub name: String,
    pub domain_id: String,
}

/// A Keystone identity provider: its remote id is the issuer of `realm`.
#[derive(Clone, Debug)]
pub struct IdpSpec {
    pub id: String,
    pub realm: String,
    pub protocol: String,
}

pub(crate) fn realms() -> Vec<RealmSpec> {
    vec![
        RealmSpec {
            name: REALM.into(),
            users: vec![
                user(USER, &[PROJECT_WEB_ID, PROJECT_DB_ID], false),
                user(USER_REQUIRED_ACTIONS, &[PROJECT_WEB_ID], true),
            ],
            clients: clients(),
        },
        RealmSpec {
            name: ADMIN_REALM.into(),
            users: vec![user(ADMIN_USER, &[PROJECT_WEB_ID], false)],
            clients: clients(),
        },
    ]
}

pub(crate) fn projects() -> Vec<ProjectSpec> {
    [
        (PROJECT_WEB_ID, PROJECT_WEB),
        (PROJECT_DB_ID, PROJECT_DB),
        (PROJECT_SECRET_ID, PROJECT_SECRET),
    ]
    .into_iter()
    .map(|(id, name)| ProjectSpec {
        id: id.into(),
        name: name.into(),
        domain_id: DOMAIN_ID.into(),
    })
    .collect()
}

pub(crate) fn identity_providers() -> Vec<IdpSpec> {
    [(IDP, REALM), (ADMIN_IDP, ADMIN_REALM)]
        .into_iter()
        .map(|(id, realm)| IdpSpec {
            id: id.into(),
            realm: realm.into(),
            protocol: PROTOCOL.into(),
        })
        .collect()
}

fn user(username: &str, projects: &[&str], required_actions: bool) -> UserSpec {
    UserSpec {
        username: username.into(),
        password: Secret::new(PASSWORD),
        projects: projects.iter().map(|p| (*p).to_owned()).collect(),
        required_actions,
    }
}

fn clients() -> Vec<ClientSpec> {
    [(CLIENT_ID, true), (NO_DAG_CLIENT_ID, false)]
        .into_iter()
        .map(|(client_id, direct_access_grants)| ClientSpec {
            client_id: client_id.into(),
            secret: Secret::new(CLIENT_SECRET),
            direct_access_grants,
        })
        .collect()
}
