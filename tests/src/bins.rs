//! Paths of the workspace's binaries. `CARGO_BIN_EXE_*` only covers binaries of the same
//! package, so look beside the test executable (`target/<profile>/deps/…` → `target/<profile>`).

use std::path::PathBuf;

/// `target/<profile>/<name>`, checked to exist with a message that says how to build it.
pub fn path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let mut dir = exe
        .parent()
        .expect("the test executable has a directory")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` first (tests/run.sh does)",
        path.display()
    );
    path
}

pub fn client() -> PathBuf {
    path("opcp-cred")
}

pub fn daemon() -> PathBuf {
    path("opcp-credd")
}

/// The real `openstack` CLI, installed in a venv by tests/setup.sh.
pub fn openstack() -> PathBuf {
    let path = std::env::var_os("OPCP_CRED_TEST_OPENSTACK").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/osc-venv/bin/openstack"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "the openstack CLI is missing at {}: run tests/setup.sh (tests/run.sh does)",
        path.display()
    );
    path
}
