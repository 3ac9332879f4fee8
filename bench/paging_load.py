"""The paging bench's client side: alerts sent on a schedule, and the receiver's answers.

:func:`send_paced` sends new alerts at a fixed rate, open loop: every ``tick_s`` it
POSTs the alerts due by then to ``/api/v2/alerts`` in one request, without waiting
for earlier requests to be answered (at most ``connections`` in flight), and notes for
each alert when its request was sent and when its 2xx answer arrived
(``time.monotonic()``, the receiver's clock too). :func:`send_bulk` posts many alerts
as fast as the target takes them, one request after another. Every alert is new: its
``bench_id`` label is unique in the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson

INGEST_PATH = "/api/v2/alerts"
ENDS_AFTER = timedelta(hours=2)  # nothing expires during a run
_TIMEOUT = aiohttp.ClientTimeout(total=60.0)


@dataclass(slots=True)
class Sent:
    """Per bench id: when its request went out and when it was accepted (monotonic s)."""

    sent: dict[str, float] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)
    failed: int = 0  # alerts whose request failed or was not answered 2xx
    errors: list[str] = field(default_factory=list)  # the first few reasons
    late_ticks: int = 0  # requests sent more than a tick after their time
    elapsed_s: float = 0.0

    def fail(self, count: int, reason: str) -> None:
        """Counts ``count`` alerts as not accepted, keeping the first reasons."""
        self.failed += count
        if len(self.errors) < 5:
            self.errors.append(reason)


def alert(bench_id: str, phase: str, now: datetime) -> dict[str, Any]:
    """One new firing alert, as Prometheus sends it."""
    return {
        "labels": {"alertname": "BenchPage", "bench_id": bench_id, "bench_phase": phase},
        "annotations": {"summary": f"paging bench alert {bench_id}"},
        "startsAt": now.isoformat(),
        "endsAt": (now + ENDS_AFTER).isoformat(),
        "generatorURL": "http://bench.invalid/graph",
    }


def _headers(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


async def send_paced(
    base_url: str,
    token: str,
    *,
    rate: float,
    duration_s: float,
    prefix: str,
    phase: str,
    tick_s: float = 0.01,
    connections: int = 32,
) -> Sent:
    """Sends ``rate`` new alerts a second for ``duration_s`` (see the module docstring)."""
    result = Sent()
    total = round(rate * duration_s)
    ticks = max(1, round(duration_s / tick_s))
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=_TIMEOUT) as session:
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        for tick in range(ticks):
            first, last = total * tick // ticks, total * (tick + 1) // ticks
            if first == last:
                continue
            delay = started + tick * tick_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > tick_s:
                result.late_ticks += 1
            ids = [f"{prefix}-{n}" for n in range(first, last)]
            task = asyncio.create_task(_post(session, base_url, token, ids, phase, result))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        result.elapsed_s = time.monotonic() - started
    return result


async def _post(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    ids: Sequence[str],
    phase: str,
    result: Sent,
) -> None:
    now = datetime.now(UTC)
    body = orjson.dumps([alert(bench_id, phase, now) for bench_id in ids])
    sent = time.monotonic()
    try:
        async with session.post(base_url + INGEST_PATH, data=body, headers=_headers(token)) as r:
            answer = await r.read()
            accepted = time.monotonic()
            if not 200 <= r.status < 300:
                result.fail(len(ids), f"{r.status}: {answer[:200]!r}")
                return
    except (aiohttp.ClientError, TimeoutError) as exc:
        result.fail(len(ids), f"{type(exc).__name__}: {exc}")
        return
    for bench_id in ids:
        result.sent[bench_id] = sent
        result.accepted[bench_id] = accepted


async def send_bulk(base_url: str, token: str, count: int, prefix: str, batch: int = 1000) -> Sent:
    """POSTs ``count`` new ``bulk`` alerts, ``batch`` per request, one request at a time."""
    result = Sent()
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        for first in range(0, count, batch):
            ids = [f"{prefix}-{n}" for n in range(first, min(count, first + batch))]
            await _post(session, base_url, token, ids, "bulk", result)
    result.elapsed_s = time.monotonic() - started
    if result.failed:
        raise RuntimeError(f"{result.failed} bulk alerts refused: {result.errors[:2]}")
    return result


async def arrivals(receiver: str) -> dict[str, Any]:
    """The receiver's results (``first``: bench id -> monotonic s, and counts)."""
    async with (
        aiohttp.ClientSession(timeout=_TIMEOUT) as session,
        session.get(receiver + "/-/results") as response,
    ):
        return orjson.loads(await response.read())  # type: ignore[no-any-return]


async def wait_for(receiver: str, ids: Sequence[str], deadline_s: float) -> float:
    """Polls until every id arrived or ``deadline_s`` passed; returns the seconds waited."""
    started = time.monotonic()
    wanted = set(ids)
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        while time.monotonic() - started < deadline_s:
            async with session.get(receiver + "/-/count") as response:
                # The count is of every id, but only the wanted ones are sent meanwhile.
                if int(await response.text()) >= len(wanted):
                    break
            await asyncio.sleep(0.25)
    return time.monotonic() - started


async def reset(receiver: str) -> None:
    """Makes the receiver forget what arrived."""
    async with (
        aiohttp.ClientSession(timeout=_TIMEOUT) as session,
        session.post(receiver + "/-/reset") as response,
    ):
        response.raise_for_status()
