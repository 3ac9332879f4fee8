"""How long and how many idle connections the webhook client keeps, on a hand-moved clock.

The client times idle connections by the monotonic clock it is given; here a clock that
moves only when the test moves it, so no test waits for :data:`IDLE_SECONDS` to pass.
"""

from __future__ import annotations

import asyncio

from yarl import URL

from escalation.webhook_http import IDLE_KEPT, IDLE_SECONDS, WebhookClient
from tests.escalation.test_webhook_http import Script, post, served

__all__ = ["served"]


class Seconds:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_connection_idle_for_idle_seconds_is_closed_not_used(
    served: tuple[Script, URL],
) -> None:
    script, url = served
    clock = Seconds()
    async with WebhookClient(monotonic=clock) as client:
        await post(client, url)
        clock.now += IDLE_SECONDS - 0.001  # still fresh: used again
        await post(client, url)
        clock.now += IDLE_SECONDS  # idle that long since the last answer: a new one
        await post(client, url)
        assert [conn for conn, _, _ in script.requests] == [1, 1, 2]
        async with asyncio.timeout(5):
            await script.closed.wait()  # the stale one was closed, not left open


async def test_at_most_idle_kept_connections_are_kept_per_origin(
    served: tuple[Script, URL],
) -> None:
    script, url = served
    many = IDLE_KEPT + 1
    async with WebhookClient(monotonic=Seconds()) as client:
        # As many sends at once as connections kept, and one more: a connection each.
        await asyncio.gather(*(post(client, url) for _ in range(many)))
        assert script.connections == many
        # Again: the kept ones are used, and one more connection is made.
        await asyncio.gather(*(post(client, url) for _ in range(many)))
        assert script.connections == many + 1
        assert len({conn for conn, _, _ in script.requests[many:]}) == many
        async with asyncio.timeout(5):
            await script.closed.wait()  # the one past the cap was closed, not left open
