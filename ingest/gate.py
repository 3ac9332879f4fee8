"""The ingest gate: who may send (authentication) and how fast (rate limits), per the rules."""

from __future__ import annotations

from datetime import datetime

from core.errors import RateLimited
from core.model import SourceKind
from ingest.auth import SourceAuthenticator
from ingest.ratelimit import Admission, TokenBucket
from rules.model import Rules, SourceConfig


class SourceGate:
    """Authenticates requests and applies each source's rate limit.

    Built from one version of the rules; a reload builds a new gate (rate buckets restart full).
    """

    def __init__(self, rules: Rules, now: datetime) -> None:
        self.authenticator = SourceAuthenticator(rules)
        self.heartbeats = {h.name: h for h in rules.heartbeats}
        # The heartbeats pinged by deliveries of an alert (ingest.heartbeat_pings).
        self.alert_heartbeats = tuple(h for h in rules.heartbeats if h.expect_alert)
        self._buckets = {
            s.name: TokenBucket(s.rate_limit, now)
            for s in rules.sources
            if s.rate_limit is not None
        }

    def by_header(self, kind: SourceKind, authorization: str | None) -> SourceConfig:
        """Returns the source the Authorization header proves; raises Unauthenticated."""
        return self.authenticator.by_header(kind, authorization)

    def by_routing_key(self, routing_key: str | None) -> SourceConfig:
        """Returns the PagerDuty-format source owning ``routing_key``; raises Unauthenticated."""
        return self.authenticator.by_routing_key(routing_key)

    def admit(self, source: SourceConfig, count: int, now: datetime) -> Admission:
        """Charges the alerts the source's bucket grants; raises RateLimited if it grants none.

        A batch larger than the bucket's burst may be granted only its first alerts: the
        caller stores those and refuses the rest (see :class:`TokenBucket`).
        """
        bucket = self._buckets.get(source.name)
        if bucket is None or count == 0:
            return Admission(count)
        admission = bucket.take(count, now)
        if admission.granted == 0:
            raise RateLimited(source.name, admission.retry_after, accepted=0)
        return admission
