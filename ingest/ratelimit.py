"""Per-source rate limits: a token bucket of alerts, driven by an injected clock."""

from __future__ import annotations

from datetime import datetime

from rules.model import RateLimit


class TokenBucket:
    """Allows ``rate`` alerts per second on average and ``burst`` at once."""

    def __init__(self, limit: RateLimit, now: datetime) -> None:
        self._rate = limit.alerts_per_second
        self._burst = float(limit.burst)
        self._tokens = self._burst
        self._updated = now

    def take(self, count: int, now: datetime) -> float:
        """Takes ``count`` tokens and returns 0, or takes none and returns seconds to wait.

        A batch larger than the burst is charged the whole burst, so it can pass when the
        bucket is full instead of never.
        """
        elapsed = (now - self._updated).total_seconds()
        if elapsed > 0:
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            self._updated = now
        cost = min(float(count), self._burst)
        if cost <= self._tokens:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self._rate
