"""The WSGI application a test serves: Keystone behind the OIDC front door, under a path prefix.

Read from the environment:
- ``OS_KEYSTONE_CONFIG_FILES``: the test's keystone.conf (read by Keystone itself);
- ``OIDC_TRUSTED_ISSUERS``: the issuers whose bearer tokens the front door accepts;
- ``KEYSTONE_PATH_PREFIX``: "" to serve at the root, or e.g. "/identity", as Apache's
  ``WSGIScriptAlias /identity`` does (Keystone builds its links from ``SCRIPT_NAME``).
"""

import os
import sys

from keystone.server import wsgi as keystone_wsgi

from oidc_middleware import OidcBearer

NOT_FOUND = b"Not Found\n"


def mounted(app, prefix):
    """Serve `app` under `prefix`: moved from PATH_INFO to SCRIPT_NAME, 404 elsewhere."""
    prefix = prefix.rstrip("/")
    if not prefix:
        return app

    def under_prefix(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != prefix and not path.startswith(prefix + "/"):
            start_response(
                "404 Not Found",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(NOT_FOUND)))],
            )
            return [NOT_FOUND]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        environ["PATH_INFO"] = path[len(prefix):]
        return app(environ, start_response)

    return under_prefix


def keystone_application():
    """Keystone's app. oslo.config parses ``sys.argv``, which holds the WSGI server's own
    arguments here (under mod_wsgi it is empty): hide them while Keystone configures itself."""
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        return keystone_wsgi.initialize_public_application()
    finally:
        sys.argv = argv


application = mounted(
    OidcBearer(
        keystone_application(),
        os.environ.get("OIDC_TRUSTED_ISSUERS", "").split(),
    ),
    os.environ.get("KEYSTONE_PATH_PREFIX", ""),
)
