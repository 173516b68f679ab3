#!/usr/bin/env bash
# Installs what the end-to-end tests and the demo need on a bare Debian/Ubuntu machine, the
# real OpenStack client in a venv cached under target/, and (unless OPCP_CRED_SETUP_KEYSTONE=0)
# the real Keystone in another. Safe to run again: it only installs what is missing. Sourced
# by tests/run.sh and tests/demo.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packages=(dbus gnome-keyring libsecret-tools keyutils zsh dash fish systemd python3 python3-venv)
commands=(dbus-daemon gnome-keyring-daemon secret-tool keyctl zsh dash fish systemd-socket-activate python3)

missing=0
for c in "${commands[@]}"; do command -v "$c" >/dev/null 2>&1 || missing=1; done
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing=1
if [ "$missing" = 1 ]; then
    echo "setup: installing system packages: ${packages[*]}" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

venv="$repo/target/osc-venv"
if [ ! -x "$venv/bin/openstack" ]; then
    echo "setup: installing python-openstackclient into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check python-openstackclient
fi
export OPCP_CRED_TEST_OPENSTACK="$venv/bin/openstack"

# The real Keystone the end-to-end tests also run against (tests/keystone/setup.sh); the demo
# needs only the simulator.
if [ "${OPCP_CRED_SETUP_KEYSTONE:-1}" = 1 ]; then
    export OPCP_CRED_TEST_KEYSTONE="$repo/target/keystone"
    bash "$repo/tests/keystone/setup.sh"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo is required (https://rustup.rs)" >&2
    exit 1
fi
