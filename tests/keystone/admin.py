"""Configures a test Keystone as an OPCP deployment's administrator would.

``admin.py bootstrap DIR``, once, on the template made by setup.sh: ``keystone-manage
bootstrap`` (the admin user, the roles, region ``RegionOne`` and the identity service), with
the admin password out of argv.

``admin.py seed URL DIR``, once, through the template's API, once, on the template made by setup.sh: the projects, one group
per project with the ``member`` role on it, the federation mapping, the identity providers
``keycloak`` and ``keycloak-admin`` with protocol ``openid``, and a compute service; the
ids Keystone chose go to ``DIR/ids.json``.

``admin.py federate URL DIR ISSUER_MASTER ISSUER_POD``, per test, once the test's Keystone
listens: the identity providers' remote ids become the simulator's issuers (they carry its
port) and the identity endpoints of the catalog become URL (it carries Keystone's port and
path prefix).

Keystone mappings cannot name projects by id, so the ``projects`` claim (project ids, as the
OPCP Keycloak mapper writes them) maps to groups named by those ids, and each group holds
the ``member`` role on its project.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

ADMIN_PASSWORD = "fake-admin-password"
DOMAIN_ID = "default"
PROJECTS = ["web", "db", "secret"]
# Projects a group (and so a claim) gives a role on; `secret` exists but no claim names it.
PROJECTS_WITH_GROUPS = ["web", "db"]
MAPPING_ID = "opcp-keycloak"
IDENTITY_PROVIDERS = {"keycloak-admin": "master", "keycloak": "pod"}
PROTOCOL = "openid"
INTERFACES = ["public", "internal", "admin"]
COMPUTE_URL = "http://127.0.0.1:9/compute/v2.1"

MAPPING_RULES = [
    {
        "local": [{"user": {"name": "{0}"}}],
        "remote": [{"type": "OIDC-preferred_username"}],
    },
    {
        "local": [{"groups": "{0}", "domain": {"id": DOMAIN_ID}}],
        "remote": [{"type": "OIDC-projects"}],
    },
]


class Keystone:
    def __init__(self, url):
        self.url = url.rstrip("/") + "/v3"
        self.token = None

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, headers, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, text = error.code, error.headers, error.read()
        if status not in expect:
            raise SystemExit(f"keystone: {method} {path} gave {status}: {text.decode(errors='replace')}")
        return headers, (json.loads(text) if text else None)

    def log_in(self):
        """A system-scoped admin token: what the federation and catalog APIs require."""
        auth = {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "admin", "domain": {"id": DOMAIN_ID}, "password": ADMIN_PASSWORD}
                },
            },
            "scope": {"system": {"all": True}},
        }
        headers, _ = self.call("POST", "/auth/tokens", {"auth": auth})
        self.token = headers["X-Subject-Token"]

    def find(self, collection, **filters):
        query = "&".join(f"{key}={value}" for key, value in filters.items())
        _, body = self.call("GET", f"/{collection}?{query}")
        return body[collection]


def bootstrap(directory):
    manage = os.path.join(os.path.dirname(sys.executable), "keystone-manage")
    # A placeholder until a test's Keystone knows its port (federate).
    url = "http://unset.example.test/v3"
    subprocess.run(
        [manage, "--config-file", f"{directory}/keystone.conf", "bootstrap",
         "--bootstrap-region-id", "RegionOne"]
        + [arg for interface in INTERFACES for arg in (f"--bootstrap-{interface}-url", url)],
        env={**os.environ, "OS_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD},
        check=True,
    )


def seed(url, directory):
    keystone = Keystone(url)
    keystone.log_in()
    member = keystone.find("roles", name="member")[0]["id"]
    projects = {}
    for name in PROJECTS:
        _, body = keystone.call(
            "POST", "/projects", {"project": {"name": name, "domain_id": DOMAIN_ID}}
        )
        projects[name] = body["project"]["id"]
    for name in PROJECTS_WITH_GROUPS:
        project = projects[name]
        _, body = keystone.call(
            "POST", "/groups", {"group": {"name": project, "domain_id": DOMAIN_ID}}
        )
        group = body["group"]["id"]
        keystone.call("PUT", f"/projects/{project}/groups/{group}/roles/{member}")
    keystone.call(
        "PUT", f"/OS-FEDERATION/mappings/{MAPPING_ID}", {"mapping": {"rules": MAPPING_RULES}}
    )
    for idp in IDENTITY_PROVIDERS:
        # A placeholder remote id until a test names its simulator's issuer.
        idp_body = {"identity_provider": {"enabled": True, "remote_ids": [f"unset:{idp}"]}}
        keystone.call("PUT", f"/OS-FEDERATION/identity_providers/{idp}", idp_body)
        protocol_body = {"protocol": {"mapping_id": MAPPING_ID}}
        keystone.call(
            "PUT", f"/OS-FEDERATION/identity_providers/{idp}/protocols/{PROTOCOL}", protocol_body
        )
    _, body = keystone.call("POST", "/services", {"service": {"type": "compute", "name": "nova"}})
    for interface in INTERFACES:
        endpoint = {
            "service_id": body["service"]["id"],
            "interface": interface,
            "region_id": "RegionOne",
            "url": COMPUTE_URL,
        }
        keystone.call("POST", "/endpoints", {"endpoint": endpoint})
    identity = keystone.find("services", type="identity")[0]["id"]
    endpoints = [e["id"] for e in keystone.find("endpoints", service_id=identity)]
    ids = {"projects": projects, "identity_endpoints": endpoints}
    with open(f"{directory}/ids.json", "w") as out:
        json.dump(ids, out, indent=2)


def federate(url, directory, issuer_master, issuer_pod):
    with open(f"{directory}/ids.json") as ids_file:
        ids = json.load(ids_file)
    keystone = Keystone(url)
    keystone.log_in()
    issuers = {"master": issuer_master, "pod": issuer_pod}
    for idp, realm in IDENTITY_PROVIDERS.items():
        body = {"identity_provider": {"remote_ids": [issuers[realm]]}}
        keystone.call("PATCH", f"/OS-FEDERATION/identity_providers/{idp}", body)
    for endpoint in ids["identity_endpoints"]:
        body = {"endpoint": {"url": url.rstrip("/") + "/v3"}}
        keystone.call("PATCH", f"/endpoints/{endpoint}", body)


def main(argv):
    commands = {"bootstrap": (bootstrap, 1), "seed": (seed, 2), "federate": (federate, 4)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        raise SystemExit(__doc__)
    command, _ = commands[argv[1]]
    command(*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
