#!/usr/bin/env bash
# Installs the real OpenStack Identity service (the current `keystone` release from PyPI,
# served by gunicorn) into a venv under target/, and makes the template instance that each
# test copies: a bootstrapped sqlite database, fernet and credential keys, and the projects,
# groups, mapping and identity providers of an OPCP deployment (admin.py seed). Both are
# cached: the template is made again only when the files it comes from or the installed
# keystone change. Run by tests/setup.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ ! -f "$keystone_venv/.installed" ]; then
    echo "setup: installing keystone and gunicorn into $keystone_venv" >&2
    rm -rf "$keystone_venv"
    python3 -m venv "$keystone_venv"
    "$keystone_venv/bin/pip" install -q --disable-pip-version-check keystone gunicorn PyJWT
    touch "$keystone_venv/.installed"
fi
python="$keystone_venv/bin/python"
version=$("$python" -c 'import importlib.metadata as m; print(m.version("keystone"))')
sources=(setup.sh common.sh serve.sh keystone.conf.in keystone_wsgi.py admin.py)
stamp="keystone $version $(cd "$keystone_here" && cat "${sources[@]}" | sha256sum | cut -c1-16)"
if [ "$(cat "$keystone_template/stamp" 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi

echo "setup: making the keystone $version template instance" >&2
dir="$keystone_root/template.new"
rm -rf "$dir"
mkdir -p "$dir"
write_conf "$dir"
manage=("$keystone_venv/bin/keystone-manage" --config-file "$dir/keystone.conf")
owner=(--keystone-user "$(id -u)" --keystone-group "$(id -g)")
{
    "${manage[@]}" db_sync
    "${manage[@]}" fernet_setup "${owner[@]}"
    "${manage[@]}" credential_setup "${owner[@]}"
    "$python" "$keystone_here/admin.py" bootstrap "$dir"
} >"$dir/setup.log" 2>&1 || {
    cat "$dir/setup.log" >&2
    exit 1
}

# The rest goes through Keystone's API, as an administrator would do it.
"$keystone_here/serve.sh" "$dir" 2>>"$dir/setup.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 300); do
    url=$(grep -ao 'Listening at: http://[0-9.:]*' "$dir/setup.log" | cut -d' ' -f3 || true)
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$url" ]; then
    cat "$dir/setup.log" >&2
    echo "setup: keystone did not start (log above)" >&2
    exit 1
fi
"$python" "$keystone_here/admin.py" seed "$url" "$dir"
kill "$server"
wait "$server" || true
trap - EXIT

echo "$stamp" >"$dir/stamp"
rm -rf "$keystone_template"
mv "$dir" "$keystone_template"
echo "setup: keystone ready after ${SECONDS}s" >&2
