"""Per-source rate limits: a token bucket of alerts, driven by an injected clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rules.model import RateLimit


@dataclass(frozen=True, slots=True)
class Admission:
    """How many alerts of a request may pass, and how long to wait before the rest could."""

    granted: int
    retry_after: float = 0.0


class TokenBucket:
    """Allows ``rate`` alerts per second on average and ``burst`` at once; every alert costs one.

    A batch that fits the burst passes whole or not at all, as a request should. A batch
    larger than the burst could never pass whole: it is granted the alerts the tokens cover
    (its first ones) and the rest are refused, so a storm keeps its first ``burst`` alerts
    (as Alertmanager's webhook ``max_alerts`` keeps a group's first alerts) and a sender of
    huge batches gets no more than the rate.
    """

    def __init__(self, limit: RateLimit, now: datetime) -> None:
        self._rate = limit.alerts_per_second
        self._burst = float(limit.burst)
        self._tokens = self._burst
        self._updated = now

    def take(self, count: int, now: datetime) -> Admission:
        """Takes one token per granted alert; says how many of ``count`` are granted."""
        elapsed = (now - self._updated).total_seconds()
        if elapsed > 0:
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            self._updated = now
        if count <= self._tokens:
            self._tokens -= count
            return Admission(count)
        if count <= self._burst:
            return Admission(0, (count - self._tokens) / self._rate)
        granted = int(self._tokens)
        self._tokens -= granted
        # The refused rest waits for a full bucket: the most one later request can carry.
        return Admission(granted, (self._burst - self._tokens) / self._rate)
