"""Two ``tocsin serve`` on one Redis page exactly once per step, even when one is killed.

Each step (the alert's first page, then two escalations by hand) must reach the
receiver under one ``webhook-id``, and each step's page must be answered. The third
step is held at the receiver while the member delivering it is SIGKILLed: the other
member takes the lease over once it runs out (2 s here) and sends that page again under
the same ``webhook-id`` (delivery is at least once; the id is how a receiver dedups).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.paging_world import (
    escalate,
    escalation_holder,
    only_incident,
    paging_server,
    send_alert,
    start_receiver,
    write_paging_rules,
)
from tests.support import poll_until

pytestmark = pytest.mark.redis


async def test_two_servers_page_once_per_step_also_when_one_is_killed(
    tmp_path: Path, redis_url: str, aiohttp_server: Any
) -> None:
    receiver, url = await start_receiver(aiohttp_server)
    rules = write_paging_rules(tmp_path / "rules", url)
    servers = [paging_server(rules, redis_url, tmp_path / f"tocsin-{n}") for n in range(2)]
    try:
        for server in servers:
            await server.start()
        await send_alert(servers[0])
        await receiver.wait_answered(["ann"], *servers)
        incident = await only_incident(servers[1])

        await escalate(servers[1], incident)
        await receiver.wait_answered(["ann", "bob"], *servers)

        receiver.gate.clear()  # the next page is held at the receiver
        await escalate(servers[0], incident)

        async def held() -> bool | None:
            return True if len(receiver.arrived) == 3 else None

        await poll_until(held, 60.0, interval=0.02)
        holder = await escalation_holder(redis_url)
        killed = next(s for s in servers if s.pid == holder)
        os.kill(holder or 0, signal.SIGKILL)
        killed.kill()  # reaps it
        receiver.gate.set()
        survivor = next(s for s in servers if s is not killed)

        async def sent_again() -> bool | None:
            return True if len(receiver.answered) == 4 else None

        await poll_until(sent_again, 60.0, interval=0.05)
    finally:
        for server in servers:
            server.kill()

    counts = receiver.count()
    assert len(counts) == 3  # one webhook-id per step
    assert [receiver.people[i] for i in counts] == ["ann", "bob", "cy"]
    # The first two were delivered once each; the killed member's page was sent again.
    assert sorted(counts.values()) == [1, 1, 2], survivor.log_tail()
    assert receiver.answered_people() == ["ann", "bob", "cy"]
    assert receiver.rejected == 0
