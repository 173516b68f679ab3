#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test (unit, golden,
# end-to-end with the real binaries, real keyrings and the real `openstack` client).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --all-targets --quiet
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
