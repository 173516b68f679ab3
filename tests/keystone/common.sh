# Shared by setup.sh and serve.sh (sourced): where the Keystone venv and template live, and
# how an instance's keystone.conf is written.

keystone_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
keystone_root="${OPCP_CRED_TEST_KEYSTONE:-$(cd "$keystone_here/../.." && pwd)/target/keystone}"
keystone_venv="$keystone_root/venv"
keystone_template="$keystone_root/template"

# write_conf DIR [EXPIRATION]: DIR/keystone.conf for the instance in DIR.
write_conf() {
    sed -e "s|@DIR@|$1|g" -e "s|@EXPIRATION@|${2:-3600}|g" \
        "$keystone_here/keystone.conf.in" >"$1/keystone.conf"
}
