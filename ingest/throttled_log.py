"""Log lines that a flood cannot multiply: a token bucket of lines, on an injected clock."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.clock import Clock
from core.errors import Unauthenticated
from ingest.ratelimit import TokenBucket
from rules.model import RateLimit

# Ten lines at once, then one a second: an operator sees that something happens and
# what, and a flood of a million refused requests still writes about one line a second.
DEFAULT_BUDGET = RateLimit(alerts_per_second=1.0, burst=10)


class ThrottledLog:
    """Writes at most the budget's lines; the next line written says how many were dropped."""

    def __init__(self, logger: Any, clock: Clock, budget: RateLimit = DEFAULT_BUDGET) -> None:
        self._logger = logger
        self._clock = clock
        self._bucket = TokenBucket(budget, clock.now())
        self._suppressed = 0

    def warning(self, event: str, **fields: object) -> None:
        """Logs ``event`` at warning level if the budget allows, else counts it as dropped."""
        if self._bucket.take(1, self._clock.now()).granted == 0:
            self._suppressed += 1
            return
        if self._suppressed:
            fields["suppressed"] = self._suppressed  # lines like this one dropped since the last
            self._suppressed = 0
        self._logger.warning(event, **fields)


def log_unauthenticated(log: ThrottledLog, request: web.Request, error: Unauthenticated) -> None:
    """Logs a refused credential: where from, to which endpoint, why; never the credential."""
    route = request.match_info.route.resource
    log.warning(
        "unauthenticated request",
        remote=request.remote,
        endpoint=route.canonical if route is not None else request.path[:200],
        reason=str(error),
    )
