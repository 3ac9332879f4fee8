"""A real process running the stage, SIGKILLed mid-batch, then a restart: each step once.

The child process commits the first page's pass, then decides the level-2 pass and is
killed with SIGKILL while its commit waits (it signals the parent, then blocks). A new
member restarted after the child's lease ran out takes the same inputs again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from escalation.state import Phase
from tests.escalation.escalation_world import World, page, t
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, sys
from pathlib import Path
from core.clock import ManualClock
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from escalation.stage import EscalationStage
from escalation.state import Phase
from tests.escalation.escalation_world import make_rules, t

async def main(where: str, marker: Path) -> None:
    store = RedisStore(where) if where.startswith("redis") else SQLiteStore(Path(where))
    await store.open()
    rules = make_rules()
    clock = ManualClock(t(30))
    stage = EscalationStage(store, lambda: rules, clock, "child")
    while await stage.step():  # the first page, committed
        pass
    marker.with_suffix(".committed").touch()
    clock.set(t(330))
    commit = store.commit_events

    async def hang(batch, writes=(), notes=()):
        marker.touch()  # decided, about to commit: the parent kills us here
        await asyncio.Event().wait()

    store.commit_events = hang
    await stage.step()

asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
"""


async def opened_store(where: str) -> Store:
    """Opens the store the child uses."""
    store: Store = RedisStore(where) if where.startswith("redis") else SQLiteStore(Path(where))
    await store.open()
    return store


async def run_killed_child(where: str, marker: Path) -> int:
    """Starts the child, waits until it is about to commit its second pass, SIGKILLs it."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, where, str(marker), cwd=ROOT, env=dict(os.environ)
    )

    async def about_to_commit() -> bool | None:
        return True if await asyncio.to_thread(marker.exists) else None

    try:
        await poll_until(about_to_commit, 30, interval=0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        code = await child.wait()
    return code


async def killed_then_restarted(where: str, tmp_path: Path) -> None:
    """Opens an incident, lets the child die mid-batch, restarts, checks the outbox."""
    store = await opened_store(where)
    try:
        world = World(store)
        incident = await world.open()
        marker = tmp_path / "deciding"

        code = await run_killed_child(where, marker)
        after_kill = await world.outbox()
        # The child's 30 s lease (taken at 330 s) has run out: another member takes over.
        await world.at(t(330 + 31), world.stage("restarted"))

        assert code == -signal.SIGKILL
        assert marker.with_suffix(".committed").exists()
        assert after_kill == [page(incident, 1, 0, 0, "ann")]
        assert await world.outbox() == [
            page(incident, 1, 0, 0, "ann"),
            page(incident, 1, 1, 0, "bob"),
        ]
        assert (await world.escalation(incident)).phase is Phase.EXHAUSTED
    finally:
        await store.close()


async def test_sqlite_a_killed_process_restarted_pages_each_step_once(tmp_path: Path) -> None:
    await killed_then_restarted(str(tmp_path / "tocsin.db"), tmp_path)


@pytest.mark.redis
async def test_redis_a_killed_process_restarted_pages_each_step_once(
    tmp_path: Path, redis_url: str
) -> None:
    await killed_then_restarted(redis_url, tmp_path)
