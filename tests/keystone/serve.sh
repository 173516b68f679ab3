#!/usr/bin/env bash
# Serves the Keystone instance in DIR on a free loopback port, in the foreground, until
# killed. gunicorn loads Keystone first (--preload), then binds and prints
# `Listening at: http://127.0.0.1:PORT` on stderr: callers wait for that line.
#
# usage: serve.sh DIR [TEMPLATE]
#   TEMPLATE  make DIR a copy of that instance first (its database and keys)
# environment: OIDC_TRUSTED_ISSUERS and KEYSTONE_PATH_PREFIX (see keystone_wsgi.py),
#   KEYSTONE_TOKEN_EXPIRATION (seconds, default 3600)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dir=$1
if [ $# -ge 2 ]; then
    cp -a "$2/." "$dir/"
fi
write_conf "$dir" "${KEYSTONE_TOKEN_EXPIRATION:-3600}"
export OS_KEYSTONE_CONFIG_FILES="$dir/keystone.conf"
# Keystone's own bytecode came with the install; ours stays out of the source tree.
export PYTHONDONTWRITEBYTECODE=1
# One process that threads: every request of a test sees the same sqlite database.
exec "$keystone_venv/bin/gunicorn" --bind 127.0.0.1:0 --workers 1 --threads 8 --preload \
    --graceful-timeout 2 --pythonpath "$keystone_here" keystone_wsgi:application
