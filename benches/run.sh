#!/usr/bin/env bash
# Build in release and run the side-by-side benchmarks; prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh
cargo build --release --workspace --bins --quiet
exec target/release/opcp-cred-bench --openstack "$OPCP_CRED_TEST_OPENSTACK" "$@"
