"""Incident summaries and pages: a list decodes no alert, a page reads a page (item 3).

Both stores: the counts a list shows are kept with each commit (and worked out once for
an incident written before they were kept); a page of an incident's alerts, by
fingerprint after a cursor, is the same as the whole incident's, the last write of each
alert winning; a timeline page is a slice of the timeline.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from redis.asyncio import Redis

from core.incident import Incident
from core.model import AlertStatus
from core.store import (
    CorrelationCommit,
    GroupHead,
    IncidentAlertWrite,
    IncidentQuery,
    Store,
    every_alert,
)
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from tests.contract.builders import T0, make_event, make_incident

GROUP = "correlate"


def with_alerts(n: int, alerts: int) -> Incident:
    """Incident ``n`` holding ``alerts`` alerts, a third of them resolved."""
    [template] = make_incident(n).alerts.values()
    held = [
        replace(
            template,
            fingerprint=f"{(k * 2654435761) % 2**40:010x}{n:06x}",
            labels={**template.labels, "instance": f"web-{k}"},
            status=AlertStatus.RESOLVED if k % 3 == 0 else AlertStatus.FIRING,
            first_seen=T0 + timedelta(seconds=k),
        )
        for k in range(alerts)
    ]
    return make_incident(n, alerts={a.fingerprint: a for a in held})


async def create(store: Store, incident: Incident) -> None:
    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            alerts=every_alert(incident),
        )
    )


async def resolve_some(store: Store, incident: Incident, every: int) -> Incident:
    """Resolves every ``every``-th firing alert in a commit of those alerts only."""
    changed = {
        f: replace(a, status=AlertStatus.RESOLVED)
        for i, (f, a) in enumerate(incident.alerts.items())
        if a.status is AlertStatus.FIRING and i % every == 0
    }
    updated = replace(incident, alerts={**incident.alerts, **changed}, version=incident.version + 1)
    writes = tuple(IncidentAlertWrite(updated.id, a) for a in changed.values())
    await store.commit(CorrelationCommit(GROUP, incidents=(updated,), alerts=writes))
    return updated


def firing(incident: Incident) -> int:
    return sum(1 for a in incident.alerts.values() if a.status is AlertStatus.FIRING)


async def test_summaries_list_what_list_incidents_lists_with_their_counts(store: Store) -> None:
    incidents = [with_alerts(n, alerts=10 * n) for n in range(1, 6)]
    for incident in incidents:
        await create(store, incident)
    incidents[2] = await resolve_some(store, incidents[2], every=2)
    query = IncidentQuery(limit=3)

    summaries = await store.incident_summaries(query)

    listed = await store.list_incidents(query)
    assert [s.incident.id for s in summaries] == [i.id for i in listed]
    for summary, incident in zip(summaries, listed, strict=True):
        assert summary.incident == replace(incident, alerts={})
        assert summary.alerts == len(incident.alerts)
        assert summary.firing == firing(incident)
        assert summary.resolved == summary.alerts - summary.firing
    one = await store.incident_summary(incidents[2].id)
    assert one is not None
    assert (one.alerts, one.firing) == (30, firing(incidents[2]))
    assert await store.incident_summary("nope") is None
    filtered = await store.incident_summaries(IncidentQuery(service="nope"))
    assert filtered == []


async def test_a_page_of_alerts_walks_the_incident_by_fingerprint(store: Store) -> None:
    incident = with_alerts(1, alerts=2_500)
    await create(store, incident)
    # Later writes of some alerts, in other batches: the page shows the last.
    incident = await resolve_some(store, incident, every=7)
    whole = await store.get_incident(incident.id)
    assert whole is not None
    expected = sorted(whole.alerts)

    walked: list[str] = []
    after = ""
    while True:
        page = await store.incident_alert_page(incident.id, after, 400)
        for alert in page.alerts:
            assert alert == whole.alerts[alert.fingerprint]
        walked += [a.fingerprint for a in page.alerts]
        if not page.more:
            break
        after = page.alerts[-1].fingerprint

    assert walked == expected
    assert len(walked) == 2_500


async def test_a_page_also_returns_the_named_alerts(store: Store) -> None:
    incident = with_alerts(1, alerts=50)
    await create(store, incident)
    last = max(incident.alerts)

    page = await store.incident_alert_page(incident.id, "", 1, named=[last, "unknown"])

    assert [a.fingerprint for a in page.alerts] == [min(incident.alerts)]
    assert page.more
    assert page.named == {last: incident.alerts[last]}
    empty = await store.incident_alert_page("nope", "", 10)
    assert (empty.alerts, empty.more, empty.named) == ([], False, {})


async def test_a_timeline_page_is_a_slice_of_the_timeline(store: Store) -> None:
    incident = make_incident(1)
    events = tuple(make_event(incident, n) for n in range(7))
    await store.commit(
        CorrelationCommit(GROUP, incidents=(incident,), events=events, alerts=every_alert(incident))
    )

    page, total = await store.incident_events_page(incident.id, 2, 3)

    assert total == 7
    assert page == list(events[2:5])
    assert await store.incident_events_page(incident.id, 6, 10) == ([events[6]], 7)
    assert await store.incident_events_page("nope", 0, 10) == ([], 0)


async def forget_counts(store: Store, path: Path) -> None:
    """Removes the kept counts, as for an incident written before they were kept."""
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM incident_alert_count")
        return
    assert isinstance(store, RedisStore)
    client = Redis.from_url(store._url)
    try:
        for key in await client.keys("tocsin:incident:*"):
            if await client.type(key) == b"hash":
                await client.hdel(key, "counts")
    finally:
        await client.aclose()


async def kept_counts(store: Store, path: Path) -> int:
    """How many incidents have counts kept."""
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(path) as conn:
            (kept,) = conn.execute("SELECT count(*) FROM incident_alert_count").fetchone()
        return int(kept)
    assert isinstance(store, RedisStore)
    client = Redis.from_url(store._url)
    try:
        found = 0
        for key in await client.keys("tocsin:incident:*"):
            if await client.type(key) == b"hash" and await client.hexists(key, "counts"):
                found += 1
        return found
    finally:
        await client.aclose()


async def test_counts_of_an_incident_written_before_they_were_kept_are_worked_out_once(
    store: Store, tmp_path: Path
) -> None:
    incident = with_alerts(1, alerts=60)
    await create(store, incident)
    incident = await resolve_some(store, incident, every=2)
    await forget_counts(store, tmp_path / "tocsin.db")
    assert await kept_counts(store, tmp_path / "tocsin.db") == 0

    [summary] = await store.incident_summaries(IncidentQuery())

    assert (summary.alerts, summary.firing) == (60, firing(incident))
    assert await kept_counts(store, tmp_path / "tocsin.db") == 1
    [again] = await store.incident_summaries(IncidentQuery())
    assert (again.alerts, again.firing) == (60, firing(incident))
