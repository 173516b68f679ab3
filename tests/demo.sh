#!/usr/bin/env bash
# The demo: the whole flow against the built-in simulator, in a throw-away HOME. It imports an
# openrc, shows the exports, and makes authenticated calls with the token (curl-free: the real
# `openstack` client).
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo runs against the simulator only: no real Keystone to install.
export OPCP_CRED_SETUP_KEYSTONE=0
source tests/setup.sh
cargo build --workspace --quiet
exec target/debug/opcp-cred-demo --openstack "$OPCP_CRED_TEST_OPENSTACK"
