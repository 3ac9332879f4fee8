"""An incident's detail is paged and bounded, and big ones never hold the event loop (item 17).

A storm incident of tens of thousands of alerts, written straight to a real SQLite store,
read back through real HTTP.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import Incident, IncidentEvent
from core.model import AlertStatus
from core.settings import Settings
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from core.store.sqlite import SQLiteStore
from tests.app_harness import ENV, START, VIEWER
from tests.contract.builders import make_incident
from tocsin.app import create_app
from tocsin.keys import STORE
from tocsin.operator.render import JOINED_ALERTS_LISTED

Client = TestClient  # type: ignore[type-arg]
STORM = 30_000
SMALL = 2_500
JOINED = 1_000
EVENTS = 250
# A page of 100 alerts with labels and annotations, 100 timeline entries and the rest.
DEFAULT_PAGE_BOUND = 256 * 1024


def storm_incident(size: int) -> tuple[Incident, list[IncidentEvent]]:
    """An incident of ``size`` alerts (every third resolved) and a timeline of EVENTS entries."""
    base = make_incident(1)
    [template] = base.alerts.values()
    alerts = {}
    for n in range(size):
        fingerprint = f"{n * 7919 % 2**64:016x}"
        alerts[fingerprint] = replace(
            template,
            fingerprint=fingerprint,
            labels={"alertname": "NodeDown", "instance": f"host-{n}:9100"},
            status=AlertStatus.RESOLVED if n % 3 == 0 else AlertStatus.FIRING,
        )
    incident = replace(base, alerts=alerts)
    joined = [{"fingerprint": f, "status": "firing"} for f in list(alerts)[:JOINED]]
    events = [
        IncidentEvent(incident.id, START, "correlate", "alerts_joined", {"alerts": joined})
    ] + [IncidentEvent(incident.id, START, "correlate", "note", {"n": n}) for n in range(1, EVENTS)]
    return incident, events


async def write(store: Store, incident: Incident, events: list[IncidentEvent]) -> None:
    """Writes the incident, its alerts and its timeline as a correlator's commit would."""
    await store.commit(
        CorrelationCommit(
            group="test",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=tuple(events),
            alerts=every_alert(incident),
        )
    )


@pytest.fixture(scope="module")
def storm_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Incident]:
    """An SQLite file holding the storm incident, written once for the module's tests."""
    path = tmp_path_factory.mktemp("storm") / "tocsin.db"
    incident, events = storm_incident(STORM)

    async def build() -> None:
        store = SQLiteStore(path)
        await store.open()
        try:
            await write(store, incident, events)
        finally:
            await store.close()

    asyncio.run(build())
    return path, incident


async def serve(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Client:
    app = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app)


@pytest.fixture
async def storm(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    storm_file: tuple[Path, Incident],
    tmp_path: Path,
) -> tuple[Client, Incident]:
    """A server on a copy of the storm file."""
    path, incident = storm_file
    shutil.copy(path, tmp_path / "storm.db")
    settings = make_settings(correlate=False, store=f"sqlite://{tmp_path / 'storm.db'}")
    return await serve(aiohttp_client, settings), incident


@pytest.fixture
async def small(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> tuple[Client, Incident]:
    """A server with an incident of a few pages of alerts."""
    client = await serve(aiohttp_client, make_settings(correlate=False))
    incident, events = storm_incident(SMALL)
    await write(client.app[STORE], incident, events)
    return client, incident


async def test_the_default_page_is_bounded_and_counts_are_whole(
    storm: tuple[Client, Incident],
) -> None:
    client, incident = storm
    response = await client.get(f"/api/v1/incidents/{incident.id}", headers=VIEWER)
    raw = await response.read()
    body = await response.json()

    assert response.status == 200
    assert len(raw) < DEFAULT_PAGE_BOUND
    assert body["counts"] == {"alerts": STORM, "firing": 20_000, "resolved": 10_000}
    assert len(body["alerts"]) == 100
    assert [a["fingerprint"] for a in body["alerts"]] == sorted(incident.alerts)[:100]
    assert body["alerts_page"]["next"].startswith(f"/api/v1/incidents/{incident.id}?")
    assert len(body["timeline"]) == 100
    # The paging stages, running in the app, may add notes meanwhile: the total counts
    # every entry there was, as a read of the whole timeline right after shows.
    whole = f"/api/v1/incidents/{incident.id}?alerts_limit=1&timeline_limit=1000"
    after = await (await client.get(whole, headers=VIEWER)).json()
    assert len([e for e in after["timeline"] if e["actor"] not in PAGING]) == EVENTS
    assert EVENTS <= body["timeline_page"]["total"] <= after["timeline_page"]["total"]
    assert after["timeline_page"]["total"] == len(after["timeline"])
    # The storm step's join lists a few alerts and counts the rest.
    joined = body["timeline"][0]["detail"]
    assert len(joined["alerts"]) == JOINED_ALERTS_LISTED
    assert joined["more_alerts"] == JOINED - JOINED_ALERTS_LISTED


async def test_next_links_walk_every_alert_once(small: tuple[Client, Incident]) -> None:
    client, incident = small
    seen: list[str] = []
    url: str | None = f"/api/v1/incidents/{incident.id}?alerts_limit=1000&timeline_limit=1"
    while url is not None:
        body = await (await client.get(url, headers=VIEWER)).json()
        assert len(body["alerts"]) <= 1000
        assert body["counts"]["alerts"] == SMALL
        seen.extend(a["fingerprint"] for a in body["alerts"])
        url = body["alerts_page"]["next"]
    assert seen == sorted(incident.alerts)


PAGING = frozenset({"escalation", "delivery", "sla"})


async def test_the_timeline_pages_too(small: tuple[Client, Incident]) -> None:
    client, incident = small
    kinds: list[str] = []
    url: str | None = f"/api/v1/incidents/{incident.id}?alerts_limit=1&timeline_limit=60"
    while url is not None:
        body = await (await client.get(url, headers=VIEWER)).json()
        # The paging stages, running in the app, may add their own notes meanwhile.
        kinds.extend(e["kind"] for e in body["timeline"] if e["actor"] not in PAGING)
        url = body["timeline_page"]["next"]
    assert kinds == ["alerts_joined"] + ["note"] * (EVENTS - 1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        # Over the largest page.
        ("alerts_limit=1001", "alerts_limit"),
        # Not ASCII digits.
        ("alerts_limit=1_0", "alerts_limit"),
        # Zero events.
        ("timeline_limit=0", "timeline_limit"),
        # A position that is not a number.
        ("timeline_cursor=x", "timeline_cursor"),
        # A cursor no page could have given.
        ("alerts_cursor=" + "f" * 200, "alerts_cursor"),
    ],
)
async def test_bad_page_parameters_are_named(
    small: tuple[Client, Incident], query: str, field: str
) -> None:
    client, incident = small
    response = await client.get(f"/api/v1/incidents/{incident.id}?{query}", headers=VIEWER)
    assert response.status == 400
    assert (await response.json())["field"] == field


async def test_healthy_answers_while_big_details_are_built(
    storm: tuple[Client, Incident],
) -> None:
    client, incident = storm
    url = f"/api/v1/incidents/{incident.id}?alerts_limit=1000&timeline_limit=1000"
    big = [asyncio.create_task(client.get(url, headers=VIEWER)) for _ in range(3)]
    await asyncio.sleep(0)  # let them start

    healthy = await client.get("/-/healthy")

    # The big ones are read and rendered in worker threads; the loop answers meanwhile.
    assert healthy.status == 200
    assert not all(task.done() for task in big)
    for response in await asyncio.gather(*big):
        assert response.status == 200
        assert len((await response.json())["alerts"]) == 1000
