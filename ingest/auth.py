"""Source authentication: which configured source sent a request, proven in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac

from core.errors import Unauthenticated
from core.model import SourceKind
from rules.model import BasicAuth, BearerAuth, Rules, SourceConfig


class SourceAuthenticator:
    """Finds the source whose credentials a request carries, among sources of one kind."""

    def __init__(self, rules: Rules) -> None:
        self._by_kind = {kind: rules.sources_of_kind(kind) for kind in SourceKind}

    def by_header(self, kind: SourceKind, authorization: str | None) -> SourceConfig:
        """Returns the source an ``Authorization`` header proves; raises Unauthenticated."""
        if not authorization:
            raise Unauthenticated("missing Authorization header (Bearer or Basic)")
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        found: SourceConfig | None = None
        # Every candidate is compared even after a match, so timing does not tell which one.
        for source in self._by_kind[kind]:
            if _matches(source.auth, scheme, credentials) and found is None:
                found = source
        if found is None:
            raise Unauthenticated("credentials not accepted for this endpoint")
        return found

    def by_routing_key(self, routing_key: str | None) -> SourceConfig:
        """Returns the PagerDuty-format source with this routing key; raises Unauthenticated."""
        if not routing_key:
            raise Unauthenticated("routing_key is missing")
        found: SourceConfig | None = None
        for source in self._by_kind[SourceKind.PAGERDUTY]:
            assert source.routing_key is not None
            if _equal(source.routing_key.value, routing_key) and found is None:
                found = source
        if found is None:
            raise Unauthenticated("routing_key not accepted")
        return found


def _matches(auth: BearerAuth | BasicAuth | None, scheme: str, credentials: str) -> bool:
    if isinstance(auth, BearerAuth):
        return scheme == "bearer" and _equal(auth.token.value, credentials)
    if isinstance(auth, BasicAuth) and scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        # Both halves are always compared (no short-circuit on the user name).
        user_ok = _equal(auth.username, username)
        password_ok = _equal(auth.password.value, password)
        return user_ok and password_ok
    return False


def _equal(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
