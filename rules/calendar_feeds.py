"""Calendar feed tokens: the revocable secret in an iCalendar feed's URL.

Calendar clients poll a feed without headers, so the feed URL carries its credential.
A feed's token is an HMAC-SHA256, keyed with the rules' ``calendar_feeds.secret``, of the
feed's kind, name and *generation*. Bumping a feed's generation in the rules revokes
the URLs given out for it; changing the secret revokes every feed at once.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from rules.credentials import Secret, equal_in_constant_time

# Enough to make guessing hopeless (128 bits), short enough for a URL.
_TOKEN_BYTES = 16


class FeedKind(enum.StrEnum):
    """What a feed shows: one schedule's shifts, or one person's across schedules."""

    SCHEDULE = "schedule"
    PERSON = "person"


def _no_generations() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CalendarFeeds:
    """The key of every feed token and each feed's generation (0 unless the rules bump it)."""

    secret: Secret
    schedules: Mapping[str, int] = field(default_factory=_no_generations)
    people: Mapping[str, int] = field(default_factory=_no_generations)

    def generation(self, kind: FeedKind, name: str) -> int:
        """The current generation of the feed of ``kind`` named ``name``."""
        table = self.schedules if kind is FeedKind.SCHEDULE else self.people
        return table.get(name, 0)

    def token(self, kind: FeedKind, name: str) -> str:
        """The token of the feed's current generation (URL-safe base64, no padding)."""
        message = f"tocsin-calendar-feed\n{kind.value}\n{name}\n{self.generation(kind, name)}"
        digest = hmac.new(self.secret.value.encode(), message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_TOKEN_BYTES]).rstrip(b"=").decode("ascii")

    def accepts(self, kind: FeedKind, name: str, given: str) -> bool:
        """Tells, in constant time, whether ``given`` is the feed's current token."""
        return self.secret.resolved and equal_in_constant_time(self.token(kind, name), given)
