"""What Apache's mod_auth_openidc does in front of Keystone's federation auth path.

An OPCP deployment protects
``/v3/OS-FEDERATION/identity_providers/<idp>/protocols/openid/auth`` with
``AuthType oauth20``: Apache checks the bearer token's signature against the
issuer's JWKS and its expiry, answers 401 itself when either is wrong (Keystone
never sees the request), and otherwise hands the token's claims to Keystone as
environment variables named ``OIDC-<claim>`` (``OIDCClaimPrefix "OIDC-"``),
arrays joined with ``;`` (``OIDCClaimDelimiter ";"``, the separator Keystone's
mapping engine splits on), and ``REMOTE_USER`` set to ``sub``. Keystone's
``[openid] remote_id_attribute = OIDC-iss`` then tells the identity providers
apart by issuer.

Trusted issuers come from ``OIDC_TRUSTED_ISSUERS`` (space-separated); each
issuer's JWKS is found through its discovery document and cached, and fetched
again when a token names a key the cache does not know (a rotated key).
"""

import json
import re
import threading
import urllib.request

import jwt

PROTECTED = re.compile(r"^/v3/OS-FEDERATION/identity_providers/[^/]+/protocols/openid/auth$")
CLAIM_PREFIX = "OIDC-"
CLAIM_DELIMITER = ";"
REALM = "openstack"
# Apache's own page for a 401, which is what a client gets from mod_auth_openidc.
UNAUTHORIZED_PAGE = b"""<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>401 Unauthorized</title>
</head><body>
<h1>Unauthorized</h1>
<p>This server could not verify that you
are authorized to access the document
requested.  Either you supplied the wrong
credentials (e.g., bad password), or your
browser doesn't understand how to supply
the credentials required.</p>
</body></html>
"""


UNVERIFIED = "the token could not be verified"
EXPIRED = "the token has expired"


class InvalidToken(Exception):
    """The bearer token was refused; the message goes to ``error_description``."""


class Jwks:
    """The signing keys of the trusted issuers, fetched on first use."""

    def __init__(self, issuers):
        self.issuers = set(issuers)
        self.keys = {}
        self.lock = threading.Lock()

    def key(self, issuer, kid):
        with self.lock:
            if (issuer, kid) not in self.keys:
                self._fetch(issuer)
            try:
                return self.keys[(issuer, kid)]
            except KeyError:
                raise InvalidToken(UNVERIFIED) from None

    def _fetch(self, issuer):
        discovery = _get_json(issuer + "/.well-known/openid-configuration")
        for jwk in _get_json(discovery["jwks_uri"])["keys"]:
            if jwk.get("use", "sig") == "sig" and "kid" in jwk:
                self.keys[(issuer, jwk["kid"])] = jwt.PyJWK(jwk).key


def _get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


class OidcBearer:
    """WSGI middleware: validate the bearer token of federation logins, pass on its claims."""

    def __init__(self, app, issuers):
        self.app = app
        self.jwks = Jwks(issuers)

    def __call__(self, environ, start_response):
        if not PROTECTED.match(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized(start_response, None)
        try:
            claims = self.validate(token.strip())
        except InvalidToken as refusal:
            return _unauthorized(start_response, str(refusal))
        environ["REMOTE_USER"] = str(claims["sub"])
        for name, value in claims.items():
            environ[CLAIM_PREFIX + name] = _claim_text(value)
        return self.app(environ, start_response)

    def validate(self, token):
        try:
            header = jwt.get_unverified_header(token)
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError:
            raise InvalidToken(UNVERIFIED) from None
        if issuer not in self.jwks.issuers:
            raise InvalidToken(UNVERIFIED)
        key = self.jwks.key(issuer, header.get("kid"))
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=issuer,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken(EXPIRED) from None
        except jwt.InvalidTokenError:
            raise InvalidToken(UNVERIFIED) from None


def _claim_text(value):
    if isinstance(value, list):
        return CLAIM_DELIMITER.join(_claim_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _unauthorized(start_response, description):
    challenge = f'Bearer realm="{REALM}"'
    if description is not None:
        challenge += f', error="invalid_token", error_description="{description}"'
    start_response(
        "401 Unauthorized",
        [
            ("WWW-Authenticate", challenge),
            ("Content-Type", "text/html; charset=iso-8859-1"),
            ("Content-Length", str(len(UNAUTHORIZED_PAGE))),
        ],
    )
    return [UNAUTHORIZED_PAGE]
