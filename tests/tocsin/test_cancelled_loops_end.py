"""Background loops end when cancelled, even when the cancel comes back as an error.

redis-py turns a ``CancelledError`` that arrives mid-reply into a connection error, which
the store reports as ``StoreError``. A loop that logs errors and carries on used to go
back to waiting for its next wake-up for ever, so the application's shutdown (and a CI
run's teardown on Redis) hung. Each test cancels a loop while its step is in such a call
and awaits its end with a deadline.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from core.errors import StoreUnavailable
from statuspage.writer import Changes
from tocsin.amapi.status import _announce
from tocsin.keys import SETTINGS, STORE
from tocsin.status_site import SiteBuilder

DEADLINE_SECONDS = 10


class CancelBecomesError:
    """A store call that waits until cancelled, then raises as redis-py does."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise StoreUnavailable("Connection closed by server.") from None


async def _cancel_in_call(task: asyncio.Task[None], call: CancelBecomesError) -> None:
    await asyncio.wait_for(call.entered.wait(), DEADLINE_SECONDS)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, DEADLINE_SECONDS)


async def test_the_site_builder_ends_when_its_cancelled_build_raises(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 1, tzinfo=UTC))
    builder = SiteBuilder(lambda: None, lambda: None, clock, tmp_path, debounce_seconds=0)  # type: ignore[arg-type, return-value]
    build = CancelBecomesError()
    builder.build = build  # type: ignore[method-assign]
    await builder.changed(Changes(everything=True))
    await _cancel_in_call(asyncio.create_task(builder.run()), build)


class _Settings:
    host, port = "127.0.0.1", 9797


async def test_the_replica_announcer_ends_when_its_cancelled_call_raises() -> None:
    live_members = CancelBecomesError()

    class Store:
        pass

    store = Store()
    store.live_members = live_members  # type: ignore[attr-defined]
    app: dict[Any, Any] = {SETTINGS: _Settings(), STORE: store}
    await _cancel_in_call(asyncio.create_task(_announce(app)), live_members)  # type: ignore[arg-type]
