//! The client stays small: no TLS, HTTP client library or keyring in its dependency tree.

use std::process::Command;

#[test]
fn the_client_links_no_tls_reqwest_or_keyring() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "opcp-cred",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).expect("utf-8");
    assert!(tree.contains("hyper"), "the tree was read: {tree}");
    for forbidden in [
        "rustls",
        "openssl",
        "native-tls",
        "reqwest",
        "keyring",
        "zbus",
        "secret-service",
        "linux-keyutils",
        "ring ",
    ] {
        assert!(
            !tree.contains(forbidden),
            "the client depends on {forbidden}:\n{tree}"
        );
    }
}
