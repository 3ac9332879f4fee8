"""The correlator child killed mid-commit or hung mid-storm leaves no duplicate behind.

``tocsin serve`` runs with its real correlator child; storms of unique alerts arrive
over HTTP while the child alone is killed (SIGKILL) in the middle of its steps, or
stopped (SIGSTOP) and then resumed, killed while stopped, or left for the parent's
heartbeat to find. After every crash, and once the last child has caught up:

- every group key has at most one open incident, and each fingerprint is in exactly one;
- no timeline entry is repeated: one ``opened`` per incident, and no alert joins (or
  changes to the same status on) an incident twice;
- at the end, every acknowledged alert is in its incident, counted once per log entry,
  at the log position of its last entry: no entry was applied twice or lost.

To land a kill inside a commit on SQLite, the test watches ``/proc/locks`` for the
exclusive ``flock`` the child holds on ``<database>-writer`` around each write
transaction, and kills it while it holds it, one write later each round (so in
bigger steps). On Redis, where a commit is one script, the child is killed once a
commit of the backlog has landed, while the next one (the steps overlap) is in flight.

Every child runs as the same ``--correlator-member``, so on Redis a new child takes the
entries its killed predecessor had claimed back at once; under another name it would
wait for them to be idle for 30 s (the store's claim timeout, contract-tested).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.fingerprint import labels_fingerprint
from core.store import IncidentQuery, Store
from tests.integration.integrity import assert_complete, assert_no_duplicates, open_store
from tests.integration.proc import children_of, runs_subcommand
from tests.server_process import PROM_AUTH, StartTocsin, TocsinProcess
from tests.support import poll_until

GROUPS = 6  # alertnames; the test rules group by alertname
SENDERS = 4
BATCH = 250
STORM = 4_000  # alerts per storm
KILLS = 3
DEADLINE_SECONDS = 90.0
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30.0)


async def new_child(tocsin: TocsinProcess, gone: Iterable[int]) -> int:
    """Waits for the correlator child that is not one of ``gone`` (killed before)."""
    assert tocsin.pid is not None
    parent, old = tocsin.pid, set(gone)

    async def started() -> int | None:
        # Only once it runs `tocsin correlate`: stopped between fork and exec, it would
        # hold up the parent, which waits for the exec.
        fresh = [
            pid
            for pid in children_of(parent)
            if pid not in old and runs_subcommand(pid, b"correlate")
        ]
        return fresh[0] if fresh else None

    try:
        return await poll_until(started, deadline_seconds=60, interval=0.02)
    except TimeoutError as exc:
        raise AssertionError(tocsin.describe("no new correlator child was started")) from exc


def holds_writer_lock(pid: int, database: Path) -> bool:
    """Whether ``pid`` holds the exclusive flock on ``<database>-writer`` (a write transaction)."""
    try:
        inode = os.stat(database.with_name(database.name + "-writer")).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except FileNotFoundError:
        return False
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters carry a "->" field.
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[3] != "WRITE":
            continue
        if int(fields[4]) == pid and int(fields[5].rsplit(":", 1)[1]) == inode:
            return True
    return False


def storm_alert(round_: int, n: int) -> dict[str, Any]:
    """Alert ``n`` of storm ``round_``: new each time, in one of GROUPS groups."""
    return {
        "labels": {
            "alertname": f"Storm{n % GROUPS}",
            "instance": f"host-{round_}-{n}:9100",
            "severity": "warning",
        },
        "annotations": {"summary": "storm"},
    }


async def storm(tocsin: TocsinProcess, round_: int, count: int = STORM) -> set[str]:
    """Posts ``count`` new alerts from SENDERS senders; returns the acknowledged fingerprints."""
    acknowledged: set[str] = set()
    batches = [
        [storm_alert(round_, n) for n in range(start, min(start + BATCH, count))]
        for start in range(0, count, BATCH)
    ]

    async def send(mine: list[list[dict[str, Any]]]) -> None:
        async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
            for body in mine:
                url = tocsin.url + "/api/v2/alerts"
                async with session.post(url, json=body, headers=PROM_AUTH) as answer:
                    assert answer.status == 200, await answer.text()
                acknowledged.update(labels_fingerprint(a["labels"]) for a in body)

    await asyncio.gather(*(send(batches[i::SENDERS]) for i in range(SENDERS)))
    return acknowledged


async def applied(store: Store) -> int:
    """How many commits have landed on the incidents (the sum of their versions)."""
    return sum(i.version for i in await store.list_incidents(IncidentQuery(limit=1_000)))


async def stop_outside_a_write(pid: int, database: Path | None) -> None:
    """SIGSTOPs the child, but not while it holds SQLite's writer lock (ingest would wait)."""
    for _ in range(1_000):
        os.kill(pid, signal.SIGSTOP)
        if database is None or not holds_writer_lock(pid, database):
            return
        os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(0.005)
    raise AssertionError("the correlator child never let go of the writer lock")


async def kill_mid_commit(
    pid: int, store: Store, database: Path | None, skip: int, deadline: float
) -> None:
    """SIGKILLs the running child inside a commit: after ``skip`` write transactions (SQLite)."""
    if database is not None:
        held_before, seen = False, 0
        while time.monotonic() < deadline:
            held = holds_writer_lock(pid, database)
            if held and not held_before:
                seen += 1
                if seen > skip:
                    os.kill(pid, signal.SIGKILL)
                    return
            held_before = held
            await asyncio.sleep(0.0005)
        raise AssertionError("the correlator child never took the writer lock")
    before = await applied(store)
    while time.monotonic() < deadline:
        if await applied(store) > before:
            # A commit of the backlog landed; the next step's is in flight behind it.
            os.kill(pid, signal.SIGKILL)
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the correlator child never committed")


def _store_for(backend: str, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("redis_url") if backend == "redis" else None


MEMBER = ("--correlator-member", "crash-test")


def _database(tocsin: TocsinProcess) -> Path | None:
    prefix = "sqlite://"
    return Path(tocsin.store.removeprefix(prefix)) if tocsin.store.startswith(prefix) else None


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_killing_the_correlator_mid_commit_duplicates_nothing(
    backend: str, start_tocsin: StartTocsin, request: pytest.FixtureRequest
) -> None:
    tocsin = await start_tocsin(_store_for(backend, request), *MEMBER)
    database = _database(tocsin)
    store = await open_store(tocsin.store)
    acknowledged: set[str] = set()
    killed: list[int] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        for round_ in range(KILLS):
            child = await new_child(tocsin, killed)
            # Held while a storm is logged, so that it then works through a backlog.
            await stop_outside_a_write(child, database)
            acknowledged |= await storm(tocsin, round_)
            os.kill(child, signal.SIGCONT)
            await kill_mid_commit(child, store, database, skip=round_, deadline=deadline)
            killed.append(child)
            await assert_no_duplicates(store)
    finally:
        await store.close()
    await new_child(tocsin, killed)
    await assert_complete(tocsin.store, acknowledged)


async def _hang(
    tocsin: TocsinProcess, then: str, database: Path | None, store: Store
) -> tuple[set[str], int]:
    """Stops the child during a storm; ``then`` resumes it, kills it, or waits for the parent.

    Returns the acknowledged fingerprints and the hung child's pid.
    """
    child = await new_child(tocsin, ())
    acknowledged = await storm(tocsin, 0)
    # It is now working through the first storm; it hangs with a second one arriving.
    await stop_outside_a_write(child, database)
    acknowledged |= await storm(tocsin, 1)
    await assert_no_duplicates(store)
    if then == "resume":
        os.kill(child, signal.SIGCONT)
    elif then == "kill":
        os.kill(child, signal.SIGKILL)
        await new_child(tocsin, [child])
    else:
        # The parent's heartbeat finds it silent, kills it, and starts another.
        await new_child(tocsin, [child])
    return acknowledged, child


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("then", ["resume", "kill", "parent"])
async def test_a_hung_correlator_duplicates_nothing(
    backend: str, then: str, start_tocsin: StartTocsin, request: pytest.FixtureRequest
) -> None:
    extra = ("--correlator-heartbeat-timeout-seconds", "2") if then == "parent" else ()
    tocsin = await start_tocsin(_store_for(backend, request), *MEMBER, *extra)
    store = await open_store(tocsin.store)
    try:
        acknowledged, hung = await _hang(tocsin, then, _database(tocsin), store)
        await assert_no_duplicates(store)
    finally:
        await store.close()
    await assert_complete(tocsin.store, acknowledged)
    assert tocsin.pid is not None
    if then == "resume":
        assert children_of(tocsin.pid) == [hung], "a resumed child must not be replaced"
    else:
        assert hung not in children_of(tocsin.pid)
