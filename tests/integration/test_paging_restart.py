"""A server stopped mid-escalation and started later fires each missed step once.

The servers' wall clock is moved with libfaketime (``paging_world.FakeTime``) instead
of waiting: the first page goes out, the server stops, its clock moves past the second
level's due time, and the server starts again: the second level is paged once and the
first is not paged again. Then the clock moves past the third level's due time while it
runs: the third is paged once, and no page of any step came twice. On both stores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.paging_world import (
    FakeTime,
    paging_server,
    send_alert,
    start_receiver,
    write_paging_rules,
)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_stopped_server_fires_each_missed_step_once(
    tmp_path: Path, aiohttp_server: Any, request: pytest.FixtureRequest, backend: str
) -> None:
    receiver, url = await start_receiver(aiohttp_server)
    rules = write_paging_rules(tmp_path / "rules", url)
    store = (
        f"sqlite://{tmp_path / 'tocsin.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    clock = FakeTime(tmp_path / "faketime")
    server = paging_server(rules, store, tmp_path / "tocsin", env=clock.env())
    try:
        await clock.start(server)
        await send_alert(server)
        await receiver.wait_answered(["ann"], server)
        server.stop()

        clock.set(70)  # bob's level fell due 60 s after ann's page, while stopped
        await clock.start(server)
        await receiver.wait_answered(["ann", "bob"], server)

        clock.set(140)  # cy's level falls due 60 s after bob's page, while running
        await receiver.wait_answered(["ann", "bob", "cy"], server)
    finally:
        server.kill()

    assert sorted(receiver.count().values()) == [1, 1, 1], server.log_tail()
    assert receiver.rejected == 0
