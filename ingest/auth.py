"""Source authentication: which configured source sent a request, proven in constant time."""

from __future__ import annotations

import base64

from core.errors import Unauthenticated
from core.model import SourceKind
from rules.credentials import equal_in_constant_time, first_accepted
from rules.model import BasicAuth, BearerAuth, Rules, SourceConfig


class SourceAuthenticator:
    """Finds the source whose credentials a request carries, among sources of one kind."""

    def __init__(self, rules: Rules) -> None:
        self._by_kind = {kind: rules.sources_of_kind(kind) for kind in SourceKind}

    def by_header(self, kind: SourceKind, authorization: str | None) -> SourceConfig:
        """Returns the source an ``Authorization`` header proves; raises Unauthenticated."""
        if not authorization:
            raise Unauthenticated("missing Authorization header (Bearer or Basic)")
        if not authorization.isascii():
            # HTTP credentials are ASCII (RFC 9110); other bytes reach us as undecodable text.
            raise Unauthenticated("the Authorization header is not ASCII")
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        found = first_accepted(self._by_kind[kind], lambda s: _matches(s.auth, scheme, credentials))
        if found is None:
            raise Unauthenticated("credentials not accepted for this endpoint")
        return found

    def by_routing_key(self, routing_key: str | None) -> SourceConfig:
        """Returns the PagerDuty-format source with this routing key; raises Unauthenticated."""
        if not routing_key:
            raise Unauthenticated("routing_key is missing")
        found = first_accepted(
            self._by_kind[SourceKind.PAGERDUTY],
            lambda s: s.routing_key is not None and s.routing_key.matches(routing_key),
        )
        if found is None:
            raise Unauthenticated("routing_key not accepted")
        return found


def _matches(auth: BearerAuth | BasicAuth | None, scheme: str, credentials: str) -> bool:
    if isinstance(auth, BearerAuth):
        return scheme == "bearer" and auth.token.matches(credentials)
    if isinstance(auth, BasicAuth) and scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
            return False
        username, _, password = decoded.partition(":")
        # Both halves are always compared (no short-circuit on the user name).
        user_ok = equal_in_constant_time(auth.username, username)
        password_ok = auth.password.matches(password)
        return user_ok and password_ok
    return False
