"""What ``tocsin serve`` keeps for each alert it takes in is invisible to the cyclic collector.

serve raises the collector's first threshold to 200,000 (``tune_garbage_collector`` in
tocsin/cli.py): a pass then walks every container allocated since the last one and
still alive, with the GIL held, on whichever thread allocates next. State kept per
alert must therefore hold no tracked object: when the duplicate filter kept a tuple per
alert, the first pass after 100,000 new alerts walked them all (26 ms, during an API
read), and passes of 41-124 ms held the event loop during a 60 s storm (bench/README.md).
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import ENV, PROM_AUTH, START
from tocsin.app import create_app

REQUESTS = 4
ALERTS_PER_REQUEST = 2_000
WINDOWS = 3

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def serve(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
) -> Client:
    """serve as deployed: ingest and the APIs here, correlation in its own process (off)."""
    app = create_app(
        make_settings(correlate=False),
        clock=ManualClock(START),
        registry=CollectorRegistry(),
        env=ENV,
    )
    return await aiohttp_client(app)


def _batch(first: int, count: int) -> list[dict[str, object]]:
    """Firing alerts as Prometheus sends them, each with a label set of its own."""
    starts = START.isoformat().replace("+00:00", "Z")
    ends = (START + timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
    return [
        {
            "labels": {"alertname": "HostDown", "instance": f"host-{n}:9100", "job": "node"},
            "annotations": {"summary": f"host-{n} is down"},
            "startsAt": starts,
            "endsAt": ends,
            "generatorURL": "http://prometheus:9090/graph",
        }
        for n in range(first, first + count)
    ]


async def _tracked_growth(client: Client, first: int) -> int:
    """Tracked objects that REQUESTS posts of new alerts add, the collector kept off.

    Counted from after REQUESTS posts to after REQUESTS more, so that what is kept of
    the latest write only (the store's rows of its last group commit) is in both counts.
    """
    gc.collect()
    gc.disable()  # a pass would untrack tuples of atomic values and hide them
    try:
        counts = []
        for half in range(2):
            for request in range(REQUESTS):
                n = first + (half * REQUESTS + request) * ALERTS_PER_REQUEST
                await _post(client, _batch(n, ALERTS_PER_REQUEST))
            counts.append(len(gc.get_objects()))
        return counts[1] - counts[0]
    finally:
        gc.enable()


async def _post(client: Client, alerts: list[dict[str, object]]) -> None:
    # Its own frame: the body's dicts are freed on return, not counted as kept.
    response = await client.post("/api/v2/alerts", json=alerts, headers=PROM_AUTH)
    assert response.status == 200


async def test_new_alerts_leave_no_tracked_object_each(serve: Client) -> None:
    # Each window also counts its requests' garbage (some 50 objects a request, kept
    # while the collector is off) and, now and then, background work such as a status
    # page build: the least of a few windows is what the alerts themselves left.
    alerts = REQUESTS * ALERTS_PER_REQUEST
    growth = [await _tracked_growth(serve, window * 2 * alerts) for window in range(WINDOWS)]
    assert min(growth) < alerts / 10, growth
