//! The simulator's Keystone against the real one: the same requests go to both, and what a
//! client can see of the answers (status, headers, error messages, the shape of token, project
//! and version bodies, expiry on rescoping, revocation) must agree. Ids that Keystone makes
//! (users, groups, audit ids, endpoints) are compared by shape, not value; the simulator is
//! given the real projects' ids, so those compare by value.

mod shapes;

use std::time::Duration;

use opcp_cred_tests::real_keystone::{KeystoneOptions, RealCloud};
use opcp_cred_tests::sim::fixture;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};

use shapes::seen;

/// A token id no Keystone made.
const UNKNOWN_TOKEN: &str = "gAAAAABnot-a-token";

/// A Keycloak access token of the fixture user of `realm`.
async fn access_token(http: &Client, cloud: &RealCloud, realm: &str) -> String {
    let user = if realm == fixture::ADMIN_REALM {
        fixture::ADMIN_USER
    } else {
        fixture::USER
    };
    let url = format!("{}/protocol/openid-connect/token", cloud.sim.issuer(realm));
    let body: Value = http
        .post(url)
        .basic_auth(fixture::CLIENT_ID, Some(fixture::CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", fixture::PASSWORD),
            ("scope", "openid"),
        ])
        .send()
        .await
        .expect("keycloak answers")
        .json()
        .await
        .expect("a token reply");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// One Keystone, probed step by step; each step names what it shows.
struct Probe<'a> {
    http: &'a Client,
    base: String,
    steps: Vec<(&'static str, Value)>,
}

impl Probe<'_> {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    async fn step(&mut self, name: &'static str, request: RequestBuilder) -> Option<String> {
        let (seen, subject) = seen(&self.base, request).await;
        self.steps.push((name, seen));
        subject
    }

    fn federation(&self, method: Method, idp: &str, protocol: &str) -> RequestBuilder {
        let path = format!("/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth");
        self.request(method, &path)
    }

    fn scope(&self, subject: &str, scope: Value) -> RequestBuilder {
        let mut auth = json!({ "identity": { "methods": ["token"], "token": { "id": subject } } });
        if !scope.is_null() {
            auth["scope"] = scope;
        }
        self.request(Method::POST, "/v3/auth/tokens")
            .json(&json!({ "auth": auth }))
    }

    fn about(&self, method: Method, auth: &str, subject: &str) -> RequestBuilder {
        self.request(method, "/v3/auth/tokens")
            .header("X-Auth-Token", auth)
            .header("X-Subject-Token", subject)
    }
}

/// Every step against the Keystone at `base`.
async fn probe(http: &Client, cloud: &RealCloud, base: String) -> Vec<(&'static str, Value)> {
    let pod = access_token(http, cloud, fixture::REALM).await;
    let master = access_token(http, cloud, fixture::ADMIN_REALM).await;
    let projects = [
        fixture::PROJECT_WEB,
        fixture::PROJECT_DB,
        fixture::PROJECT_SECRET,
    ]
    .map(|name| cloud.project_id(name));
    let mut p = Probe {
        http,
        base,
        steps: Vec::new(),
    };
    let unscoped = p.discovery_and_federation(&pod, &master).await;
    // Keystone's times have whole seconds: a rescoped token is issued in a later second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let scoped = p.scoping(&unscoped, projects).await;
    p.validation_and_revocation(&unscoped, &scoped, projects[0])
        .await;
    p.steps
}

/// Tokens scoped from the unscoped one: to project web (with the catalog), to project db.
struct Scoped {
    web: String,
    db: String,
}

impl Probe<'_> {
    async fn discovery_and_federation(&mut self, pod: &str, master: &str) -> String {
        self.step("versions", self.request(Method::GET, "/")).await;
        self.step("version v3", self.request(Method::GET, "/v3"))
            .await;
        let unknown = self.request(Method::GET, "/v3/no-such-thing");
        self.step("unknown route", unknown).await;
        let (idp, admin_idp, openid) = (fixture::IDP, fixture::ADMIN_IDP, fixture::PROTOCOL);
        let login = self.federation(Method::POST, idp, openid).bearer_auth(pod);
        let unscoped = self.step("federation login", login).await;
        let login = self.federation(Method::GET, admin_idp, openid);
        let name = "federation login with GET, realm master";
        self.step(name, login.bearer_auth(master)).await;
        let login = self.federation(Method::POST, admin_idp, openid);
        let name = "federation: a token of another realm";
        self.step(name, login.bearer_auth(pod)).await;
        let login = self.federation(Method::POST, "no-such-idp", openid);
        let name = "federation: unknown identity provider";
        self.step(name, login.bearer_auth(pod)).await;
        let login = self.federation(Method::POST, idp, "saml2");
        let name = "federation: a protocol that is no auth method";
        self.step(name, login.bearer_auth(pod)).await;
        let login = self.federation(Method::POST, idp, openid);
        self.step("federation: no bearer token", login).await;
        let login = self.federation(Method::POST, idp, openid);
        let name = "federation: a bearer token that is no JWT";
        self.step(name, login.bearer_auth("not-a-jwt")).await;
        unscoped.expect("an unscoped token")
    }

    async fn scoping(&mut self, unscoped: &str, [web, db, secret]: [&str; 3]) -> Scoped {
        let by_id = self.scope(unscoped, json!({"project": {"id": web}}));
        let scoped_web = self.step("scope by id", by_id).await;
        let domain = json!({"name": fixture::DOMAIN_NAME});
        let by_name = self.scope(
            unscoped,
            json!({"project": {"name": "db", "domain": domain}}),
        );
        let no_catalog = by_name.query(&[("nocatalog", "")]);
        let scoped_db = self.step("scope by name, no catalog", no_catalog).await;
        let refused = [
            (
                "scope: a project without a role",
                json!({"project": {"id": secret}}),
            ),
            (
                "scope: an unknown project",
                json!({"project": {"id": "0".repeat(32)}}),
            ),
            (
                "scope: a name without a domain",
                json!({"project": {"name": "web"}}),
            ),
            (
                "scope: a domain",
                json!({"domain": {"id": fixture::DOMAIN_ID}}),
            ),
        ];
        for (name, scope) in refused {
            self.step(name, self.scope(unscoped, scope)).await;
        }
        let unknown = self.scope(UNKNOWN_TOKEN, json!({"project": {"id": web}}));
        self.step("scope: an unknown subject token", unknown).await;
        let scoped = Scoped {
            web: scoped_web.expect("a token scoped to web"),
            db: scoped_db.expect("a token scoped to db"),
        };
        let rescope = self.scope(&scoped.web, json!({"project": {"id": db}}));
        self.step("rescope a scoped token to another project", rescope)
            .await;
        scoped
    }

    async fn validation_and_revocation(&mut self, unscoped: &str, scoped: &Scoped, web: &str) {
        let projects = self.request(Method::GET, "/v3/auth/projects");
        self.step("projects", projects.header("X-Auth-Token", unscoped))
            .await;
        let projects = self.request(Method::GET, "/v3/auth/projects");
        self.step("projects without a token", projects).await;
        // `openstack project list`: the administrators' list, refused to a member.
        let all = self.request(Method::GET, "/v3/projects");
        self.step(
            "all projects, a member's token",
            all.header("X-Auth-Token", &scoped.web),
        )
        .await;
        let web_token = scoped.web.as_str();
        let steps: [(&'static str, Method, &str, &str); 6] = [
            ("validate", Method::GET, web_token, unscoped),
            ("validate with HEAD", Method::HEAD, web_token, web_token),
            (
                "validate an unknown token",
                Method::GET,
                web_token,
                UNKNOWN_TOKEN,
            ),
            ("revoke", Method::DELETE, unscoped, web_token),
            ("validate a revoked token", Method::GET, unscoped, web_token),
            (
                "revoke a revoked token",
                Method::DELETE,
                unscoped,
                web_token,
            ),
        ];
        for (name, method, auth, subject) in steps {
            self.step(name, self.about(method, auth, subject)).await;
        }
        let validate = self.request(Method::GET, "/v3/auth/tokens");
        let without_auth = validate.header("X-Subject-Token", &scoped.db);
        self.step("validate without X-Auth-Token", without_auth)
            .await;
        for (name, method) in [
            ("validate without X-Subject-Token", Method::GET),
            ("revoke without X-Subject-Token", Method::DELETE),
        ] {
            let request = self.request(method, "/v3/auth/tokens");
            self.step(name, request.header("X-Auth-Token", &scoped.db))
                .await;
        }
        let rescope = self.scope(&scoped.web, json!({"project": {"id": web}}));
        self.step("scope from a revoked token", rescope).await;
        let revoke = self.about(Method::DELETE, &scoped.db, unscoped);
        self.step("revoke the unscoped token", revoke).await;
        let validate = self.about(Method::GET, &scoped.db, &scoped.db);
        self.step("a token scoped from it lives on", validate).await;
    }
}

/// Whether the scoped token of step "scope by id" expires with its source (step "federation
/// login"): issued a second or more later, it then lives shorter than a full lifetime.
fn expires_with_source(steps: &[(&str, Value)]) -> bool {
    let body =
        |name: &str| &steps.iter().find(|(n, _)| *n == name).expect("step ran").1["body"]["token"];
    let (unscoped, scoped) = (body("federation login"), body("scope by id"));
    assert_eq!(unscoped["lifetime"], "full");
    scoped["lifetime"] == "shorter"
}

#[test]
fn the_simulator_answers_as_the_real_keystone_does() {
    for prefix in ["", "/identity"] {
        let options = KeystoneOptions {
            prefix: prefix.to_owned(),
            ..KeystoneOptions::default()
        };
        let config = opcp_cred_tests::sim::SimConfig {
            keystone_prefix: prefix.to_owned(),
            ..Default::default()
        };
        let cloud = RealCloud::start_with(config, &options);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::new();
        let real = cloud
            .sim
            .block_on(probe(&http, &cloud, cloud.keystone.url.clone()));
        let simulated = cloud
            .sim
            .block_on(probe(&http, &cloud, cloud.sim.keystone_url()));
        // The pin: Keystone gives a token scoped from a federated unscoped token the unscoped
        // token's expiry (the broker's refresh plan relies on it: `ProfileState::session`), and
        // so does the simulator by default (`RescopeExpiry::KeepSource`).
        assert!(
            expires_with_source(&real),
            "keystone gave a rescoped federated token a fresh expiry"
        );
        assert!(expires_with_source(&simulated));
        let differing: Vec<String> = real
            .iter()
            .zip(&simulated)
            .filter(|((_, real), (_, simulated))| real != simulated)
            .map(|((name, real), (_, simulated))| {
                format!(
                    "step {name:?}\nsimulator: {}\nkeystone:  {}",
                    serde_json::to_string(simulated).unwrap(),
                    serde_json::to_string(real).unwrap()
                )
            })
            .collect();
        assert!(
            differing.is_empty(),
            "prefix {prefix:?}: the simulator and keystone differ:\n{}",
            differing.join("\n\n")
        );
    }
}
