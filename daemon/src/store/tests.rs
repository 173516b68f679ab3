//! The memory store and the async wrappers run everywhere. The real stores are tested for
//! real, each in its own environment, `#[ignore]`d by default:
//!
//! ```sh
//! # keyutils, in a throw-away session keyring
//! OPCP_CRED_TEST_KEYUTILS=1 keyctl session - \
//!     cargo test -p opcp-credd --lib store::tests::keyutils -- --ignored
//! # Secret Service: a private session bus with an unlocked gnome-keyring
//! XDG_DATA_HOME=$(mktemp -d) OPCP_CRED_TEST_SECRET_SERVICE=1 dbus-run-session -- sh -c \
//!     'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//!      exec cargo test -p opcp-credd --lib store::tests::secret_service -- --ignored'
//! ```
//!
//! Each checks with the store's own CLI (`keyctl`, `secret-tool`) that the value is really
//! there, not only readable through our code.

use std::process::{Command, Stdio};
use std::sync::Arc;

use opcp_cred_proto::Secret;

use super::*;
use crate::error::Actionable;

fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "test-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Panics with the way to run the test when its environment is not there.
fn require_env(var: &str) {
    assert!(
        std::env::var_os(var).is_some_and(|v| v == "1"),
        "set {var}=1 in the environment described in store/tests.rs to run this test"
    );
}

/// Runs `sh -c script` with `vars`; stdout when it succeeds, `None` when it fails.
fn sh(script: &str, vars: &[(&str, &str)]) -> Option<String> {
    let output = Command::new("sh")
        .args(["-c", script])
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("sh runs");
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).expect("utf-8 output"))
}

fn expose(secret: Option<Secret>) -> Option<String> {
    secret.map(|s| s.expose().to_owned())
}

#[test]
fn stores_and_errors_cross_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<StoreError>();
    shareable::<Arc<dyn SecretStore>>();
}

#[test]
fn entry_names() {
    assert_eq!(SecretKind::Password.entry_user("pod"), "pod/password");
    assert_eq!(
        SecretKind::ClientSecret.entry_user("pod"),
        "pod/client-secret"
    );
}

#[tokio::test]
async fn memory_store_through_the_async_wrappers() {
    let memory = Arc::new(MemoryStore::new());
    let store: Arc<dyn SecretStore> = memory.clone();
    assert_eq!(store.name(), "memory");
    assert_eq!(
        get(&store, "pod", SecretKind::Password).await.unwrap(),
        None
    );
    set(&store, "pod", SecretKind::Password, &Secret::new("fake-pw"))
        .await
        .unwrap();
    set(
        &store,
        "pod",
        SecretKind::ClientSecret,
        &Secret::new("fake-cs"),
    )
    .await
    .unwrap();
    assert_eq!(
        expose(get(&store, "pod", SecretKind::Password).await.unwrap()).as_deref(),
        Some("fake-pw")
    );
    assert_eq!(
        expose(get(&store, "pod", SecretKind::ClientSecret).await.unwrap()).as_deref(),
        Some("fake-cs")
    );
    assert!(
        !format!("{memory:?}").contains("fake-pw"),
        "Debug never shows secrets"
    );

    delete(&store, "pod", SecretKind::Password).await.unwrap();
    delete(&store, "pod", SecretKind::Password).await.unwrap();
    assert_eq!(
        get(&store, "pod", SecretKind::Password).await.unwrap(),
        None
    );

    memory.set_available(false);
    let err = get(&store, "pod", SecretKind::ClientSecret)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), opcp_cred_proto::ErrorKind::KeyringUnavailable);
    assert!(err.to_string().contains("`pod/client-secret`"), "{err}");
    memory.set_available(true);
    assert!(
        get(&store, "pod", SecretKind::ClientSecret)
            .await
            .unwrap()
            .is_some()
    );
}

// ---- keyutils -------------------------------------------------------------------------------

fn description(profile: &str, kind: SecretKind) -> String {
    format!("keyring:{}@{SERVICE}", kind.entry_user(profile))
}

/// Reads a key as a daemon started later in another session would: a fresh anonymous session
/// keyring that links the persistent keyring, then search and read.
fn keyctl_from_another_session(desc: &str) -> Option<String> {
    sh(
        r#"keyctl session - sh -c 'keyctl get_persistent @s >/dev/null && keyctl pipe "$(keyctl search @s user "$DESC")"' 2>/dev/null"#,
        &[("DESC", desc)],
    )
}

#[test]
#[ignore = "real keyutils: see store/tests.rs"]
fn keyutils_round_trip_seen_by_keyctl() {
    require_env("OPCP_CRED_TEST_KEYUTILS");
    let store = open(KeyringChoice::Keyutils).expect("keyutils opens");
    assert_eq!(store.name(), "keyutils");
    let profile = unique("keyutils");
    let desc = description(&profile, SecretKind::Password);
    assert_eq!(store.get(&profile, SecretKind::Password).unwrap(), None);

    store
        .set(&profile, SecretKind::Password, &Secret::new("fake-pw-1"))
        .unwrap();
    store
        .set(
            &profile,
            SecretKind::ClientSecret,
            &Secret::new("fake-cs-1"),
        )
        .unwrap();
    assert_eq!(
        expose(store.get(&profile, SecretKind::Password).unwrap()).as_deref(),
        Some("fake-pw-1")
    );
    assert_eq!(
        expose(store.get(&profile, SecretKind::ClientSecret).unwrap()).as_deref(),
        Some("fake-cs-1")
    );
    let here = sh(
        r#"keyctl pipe "$(keyctl search @s user "$DESC")""#,
        &[("DESC", &desc)],
    );
    assert_eq!(
        here.as_deref(),
        Some("fake-pw-1"),
        "keyctl reads it in this session"
    );
    assert_eq!(
        keyctl_from_another_session(&desc).as_deref(),
        Some("fake-pw-1")
    );

    store
        .set(&profile, SecretKind::Password, &Secret::new("fake-pw-2"))
        .unwrap();
    assert_eq!(
        expose(store.get(&profile, SecretKind::Password).unwrap()).as_deref(),
        Some("fake-pw-2")
    );
    assert_eq!(
        keyctl_from_another_session(&desc).as_deref(),
        Some("fake-pw-2")
    );

    for kind in [SecretKind::Password, SecretKind::ClientSecret] {
        store.delete(&profile, kind).unwrap();
        store.delete(&profile, kind).unwrap();
        assert_eq!(store.get(&profile, kind).unwrap(), None);
    }
    assert_eq!(
        keyctl_from_another_session(&desc),
        None,
        "deleted everywhere"
    );
}

#[test]
#[ignore = "real keyutils: see store/tests.rs"]
fn keyutils_reads_what_another_session_stored() {
    require_env("OPCP_CRED_TEST_KEYUTILS");
    let profile = unique("keyutils-elsewhere");
    let desc = description(&profile, SecretKind::Password);
    // What the store does on set, from a session that is gone when we read.
    let stored = sh(
        r#"keyctl session - sh -c 'id=$(keyctl add user "$DESC" fake-from-elsewhere @s) && keyctl link "$id" "$(keyctl get_persistent @s)"' >/dev/null"#,
        &[("DESC", &desc)],
    );
    assert!(stored.is_some(), "keyctl stored the key");
    let store = open(KeyringChoice::Keyutils).expect("keyutils opens");
    assert_eq!(
        expose(store.get(&profile, SecretKind::Password).unwrap()).as_deref(),
        Some("fake-from-elsewhere")
    );
    store.delete(&profile, SecretKind::Password).unwrap();
}

// ---- Secret Service -------------------------------------------------------------------------

fn secret_tool_lookup(user: &str) -> Option<String> {
    sh(
        "secret-tool lookup service \"$SERVICE\" username \"$USER_NAME\"",
        &[("SERVICE", SERVICE), ("USER_NAME", user)],
    )
}

/// One test, in order: the last step locks the collection, which would break a parallel test.
#[test]
#[ignore = "real Secret Service: see store/tests.rs"]
fn secret_service_end_to_end() {
    require_env("OPCP_CRED_TEST_SECRET_SERVICE");
    let store = open(KeyringChoice::SecretService).expect("secret service opens");
    assert_eq!(store.name(), "secret-service");
    assert_eq!(
        open(KeyringChoice::Auto).unwrap().name(),
        "secret-service",
        "auto prefers it"
    );
    let profile = unique("ss");
    let user = SecretKind::Password.entry_user(&profile);
    assert_eq!(store.get(&profile, SecretKind::Password).unwrap(), None);

    store
        .set(&profile, SecretKind::Password, &Secret::new("fake-pw-1"))
        .unwrap();
    assert_eq!(
        expose(store.get(&profile, SecretKind::Password).unwrap()).as_deref(),
        Some("fake-pw-1")
    );
    assert_eq!(
        secret_tool_lookup(&user).as_deref(),
        Some("fake-pw-1"),
        "secret-tool sees it"
    );
    store
        .set(&profile, SecretKind::Password, &Secret::new("fake-pw-2"))
        .unwrap();
    assert_eq!(
        secret_tool_lookup(&user).as_deref(),
        Some("fake-pw-2"),
        "replaced, not added"
    );

    let stored = sh(
        "printf fake-cs-from-cli | secret-tool store --label=t service \"$SERVICE\" username \"$USER_NAME\"",
        &[
            ("SERVICE", SERVICE),
            ("USER_NAME", &SecretKind::ClientSecret.entry_user(&profile)),
        ],
    );
    assert!(stored.is_some(), "secret-tool stored the client secret");
    assert_eq!(
        expose(store.get(&profile, SecretKind::ClientSecret).unwrap()).as_deref(),
        Some("fake-cs-from-cli")
    );

    for kind in [SecretKind::Password, SecretKind::ClientSecret] {
        store.delete(&profile, kind).unwrap();
        store.delete(&profile, kind).unwrap();
        assert_eq!(store.get(&profile, kind).unwrap(), None);
    }
    assert_eq!(
        secret_tool_lookup(&user),
        None,
        "deleted from the collection"
    );

    lock_default_collection();
    assert!(matches!(
        store.get(&profile, SecretKind::Password),
        Err(StoreError::Locked)
    ));
    assert!(matches!(
        open(KeyringChoice::SecretService),
        Err(StoreError::Locked)
    ));
    match open(KeyringChoice::Auto) {
        Ok(fallback) => assert_eq!(
            fallback.name(),
            "keyutils",
            "a locked collection is skipped"
        ),
        Err(StoreError::NoneUsable { secret_service, .. }) => {
            assert!(matches!(*secret_service, StoreError::Locked));
        }
        Err(other) => panic!("unexpected: {other}"),
    }
}

fn lock_default_collection() {
    let service =
        ::secret_service::blocking::SecretService::connect(::secret_service::EncryptionType::Plain)
            .expect("connects");
    let collection = service
        .get_default_collection()
        .expect("has a default collection");
    collection.lock().expect("locks without a prompt");
    assert!(collection.is_locked().unwrap());
}
