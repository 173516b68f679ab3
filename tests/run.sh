#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test (unit, golden,
# end-to-end with the real binaries, real keyrings and the real `openstack` client).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --all-targets --quiet

# `run [--ignored] ARGS…`: nextest when installed, else cargo test; both print a summary.
run() {
    local ignored=()
    if [ "$1" = --ignored ]; then
        shift
        ignored=(--ignored)
    fi
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --no-fail-fast "${ignored[@]/--ignored/--run-ignored=only}" "$@"
    else
        cargo test --no-fail-fast "$@" -- "${ignored[@]}"
    fi
}

run --workspace
# The stores' own tests (store/tests.rs) need a keyring of their own each: a throw-away
# kernel session keyring, and a private D-Bus session with an unlocked gnome-keyring.
OPCP_CRED_TEST_KEYUTILS=1 keyctl session - \
    bash -c "$(declare -f run); run --ignored -p opcp-credd --lib store::tests::keyutils"
XDG_DATA_HOME=$(mktemp -d) OPCP_CRED_TEST_SECRET_SERVICE=1 dbus-run-session -- bash -c \
    "printf fake-unlock | gnome-keyring-daemon --unlock --components=secrets >/dev/null
     $(declare -f run); run --ignored -p opcp-credd --lib store::tests::secret_service"
