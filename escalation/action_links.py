"""Action links: signed, expiring, single-use links that acknowledge or resolve an incident.

A notification carries one link per action (acknowledge, resolve) for its recipient.
The link's token is signed with itsdangerous (``URLSafeTimedSerializer``, HMAC-SHA1 over
a key derived from the secret and the salt :data:`SALT`; the timestamp is signed too)
and holds::

    {"i": incident id, "a": "acknowledge" | "resolve", "p": recipient person, "n": nonce}

- *Signed*: a changed byte is :class:`LinkForged`; so is a token signed with another
  secret (rotating the secret revokes every link).
- *Expiring*: older than ``max_age`` (default 24 h) by the injected clock is
  :class:`LinkExpired`; so is one dated in the future (a clock set back).
- *Bound to the recipient*: the action's actor is the person the link was made for.
- *Single-use*: acting records the nonce (collection :data:`USED`, see
  ``tocsin.operator.action_links``) in the same store write as the action; a second use
  finds the record. The record is filed under the link's expiry, after which the link is
  refused as expired anyway, so it can be deleted then.

Following a link only shows a confirmation page; only its form's POST acts, so mail
scanners that prefetch links change nothing (``tocsin.operator.action_links``).
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from core.clock import Clock

# The consumer collection of used links (their nonces), and of the generated secret.
USED = "action_links"
SECRETS = "action_link_secret"
SALT = "tocsin.action-link.v1"
DEFAULT_MAX_AGE = timedelta(hours=24)
PATH_PREFIX = "/act/"
# A secret shorter than this is refused: an HMAC key needs at least 256 bits of entropy.
MIN_SECRET = 32
_NONCE = re.compile(r"[A-Za-z0-9_-]{22}")
# Incident ids and person names are short; a token longer than this is not one of ours.
MAX_TOKEN = 1024


class LinkAction(enum.StrEnum):
    """What a link does."""

    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class LinkError(Exception):
    """A token that cannot be acted on; ``status`` is the HTTP status to answer."""

    status = 400


class LinkForged(LinkError):
    """Not a token Tocsin signed with its current secret (tampered, truncated, foreign)."""

    status = 400


class LinkExpired(LinkError):
    """A genuine token older than its maximum age (or dated in the future)."""

    status = 410


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a genuine, unexpired token says, and when it was issued."""

    incident_id: str
    action: LinkAction
    person: str
    nonce: str
    issued_at: datetime


class _ClockSigner(TimestampSigner):
    """itsdangerous' timestamp signer reading the injected clock instead of time.time()."""

    clock: Clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


class ActionLinks:
    """Makes and checks action-link tokens with one secret (see the module docstring)."""

    def __init__(self, secret: str, clock: Clock, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        """``secret`` is at least :data:`MIN_SECRET` characters (ValueError otherwise)."""
        if len(secret) < MIN_SECRET:
            raise ValueError(f"an action-link secret needs at least {MIN_SECRET} characters")
        # A signer class per instance, so that it reads this instance's clock.
        signer = type("Signer", (_ClockSigner,), {"clock": clock})
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT, signer=signer)
        self._clock = clock
        self.max_age = max_age

    def __repr__(self) -> str:
        return f"ActionLinks(<secret hidden>, max_age={self.max_age})"

    def token(self, incident_id: str, action: LinkAction, person: str) -> str:
        """A new token (with a fresh nonce) for ``person`` to take ``action`` on the incident."""
        payload = {"i": incident_id, "a": action.value, "p": person, "n": new_nonce()}
        token: str = self._serializer.dumps(payload)
        return token

    def path(self, incident_id: str, action: LinkAction, person: str) -> str:
        """The link's path, to be put after the public URL: ``/act/<token>``."""
        return PATH_PREFIX + self.token(incident_id, action, person)

    def links(self, base_url: str, incident_id: str, person: str | None) -> dict[str, str]:
        """Absolute URLs per action for a recipient; none for a channel paged as such.

        A message to a room has no one recipient to bind a link to, so it has no links.
        """
        if person is None:
            return {}
        base = base_url.rstrip("/")
        return {a.value: base + self.path(incident_id, a, person) for a in LinkAction}

    def verify(self, token: str) -> LinkClaim:
        """The claim of a genuine, unexpired token; LinkForged or LinkExpired otherwise."""
        if len(token) > MAX_TOKEN:
            raise LinkForged("the link is not one Tocsin made")
        try:
            payload, issued = self._serializer.loads(
                token, max_age=int(self.max_age.total_seconds()), return_timestamp=True
            )
        except SignatureExpired as exc:
            raise LinkExpired("the link has expired") from exc
        except BadData as exc:
            raise LinkForged("the link is not one Tocsin made") from exc
        claim = _claim(payload, issued)
        if claim is None:
            raise LinkForged("the link is not one Tocsin made")
        if claim.issued_at > self._clock.now():
            raise LinkExpired("the link is dated in the future")
        return claim

    def expires_at(self, claim: LinkClaim) -> datetime:
        """When the claim's link stops being accepted."""
        return claim.issued_at + self.max_age


def new_nonce() -> str:
    """A random 128-bit nonce, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def new_secret() -> str:
    """A random 256-bit secret for signing links."""
    return secrets.token_urlsafe(32)


def _claim(payload: Any, issued: datetime) -> LinkClaim | None:
    """The claim of a signed payload, or None if it is not the shape this module signs."""
    if not isinstance(payload, Mapping) or set(payload) != {"i", "a", "p", "n"}:
        return None
    incident, action, person, nonce = (payload[k] for k in ("i", "a", "p", "n"))
    texts = (incident, action, person, nonce)
    if not all(isinstance(t, str) and t for t in texts):
        return None
    if action not in {a.value for a in LinkAction} or not _NONCE.fullmatch(nonce):
        return None
    return LinkClaim(incident, LinkAction(action), person, nonce, issued.astimezone(UTC))
