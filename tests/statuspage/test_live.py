"""LiveSnapshot: refreshed with the writer's Changes, it equals a full read, reading less."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from core.clock import ManualClock
from core.incident import IncidentState
from core.store import Store
from rules.model import Rules
from statuspage import records as rec
from statuspage.commands import incident_command, maintenance_command, update_command
from statuspage.live import LiveSnapshot
from statuspage.model import ComponentStatus, Impact
from statuspage.snapshot import build_snapshot
from statuspage.writer import Changes, StatusWriter, file_command, new_id
from tests.statuspage.harness import change, drain, opened, public_incidents, writer
from tocsin.status_site import SiteBuilder

T = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
KNOWN = {"website", "search", "checkout", "card-payments"}


class CountingStore:
    """The store, counting the reads of whole collections (``due_documents``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.listed: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def due_documents(self, collection: str, *args: Any, **kwargs: Any) -> Any:
        self.listed.append(collection)
        return await self._store.due_documents(collection, *args, **kwargs)


async def _same(live: LiveSnapshot, store: Store, rules: Rules, now: datetime, ch: Changes) -> None:
    fresh = await live.refresh(store, rules, now, ch)
    whole = await build_snapshot(store, rules, now)
    for a, b in zip(fresh.histories, whole.histories, strict=True):
        assert a == b, [(x, y) for x, y in zip(a.days, b.days, strict=True) if x != y] or a
    assert fresh == whole


async def _command(store: Store, status: StatusWriter, command: dict[str, Any]) -> Changes:
    await file_command(store, command)
    return await drain(status)


async def test_refreshed_snapshots_equal_full_reads_through_a_day_of_changes(
    store: Store, rules: Rules
) -> None:
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await drain(status)
    live = LiveSnapshot()
    await _same(live, store, rules, T, Changes(everything=True))
    internal = await opened(store, 1, T + MIN)
    clock.set(T + 2 * MIN)
    await _same(live, store, rules, clock.now(), await drain(status))
    (record,) = await public_incidents(store)
    public_id = record.incident.id
    clock.set(T + 5 * MIN)
    raw = {"status": "identified", "body": "Found it.", "components": {"search": "partial_outage"}}
    update = update_command(raw, KNOWN, public_id, new_id(), clock.now(), Impact.CRITICAL)
    await _same(live, store, rules, clock.now(), await _command(store, status, update))
    created = incident_command(
        {"name": "Slow site", "body": "Looking.", "components": ["website"]},
        KNOWN,
        new_id(),
        new_id(),
        clock.now(),
    )
    await _same(live, store, rules, clock.now(), await _command(store, status, created))
    window = {
        "name": "Database upgrade",
        "scheduled_for": "2026-03-12T10:00:00Z",
        "scheduled_until": "2026-03-12T11:00:00Z",
        "components": ["card-payments"],
    }
    planned = maintenance_command(window, KNOWN, new_id(), new_id(), clock.now())
    await _same(live, store, rules, clock.now(), await _command(store, status, planned))
    # The clock alone moves the open stretches and the maintenance into progress.
    for minutes in (30, 65, 90, 125):
        clock.set(T + minutes * MIN)
        await _same(live, store, rules, clock.now(), await drain(status))
    await change(store, internal, "resolved", clock.now(), IncidentState.RESOLVED)
    clock.advance(MIN)
    changes = await drain(status)
    assert changes.incidents == {public_id}
    await _same(live, store, rules, clock.now(), changes)
    # Untouched since, the components' days and uptime still move on with the clock.
    for minutes in (20, 200):
        clock.advance(minutes * MIN)
        await _same(live, store, rules, clock.now(), await drain(status))
    assert live.full_reads == 1
    # Past midnight in Berlin every bar moves: read whole again.
    clock.set(T + timedelta(hours=15))
    await _same(live, store, rules, clock.now(), await drain(status))
    assert live.full_reads == 2


async def test_an_update_rebuilds_the_site_without_reading_every_incident(
    store: Store, rules: Rules, tmp_path: Path
) -> None:
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await opened(store, 1, T)
    clock.set(T + MIN)
    await drain(status)
    counting = CountingStore(store)
    builder = SiteBuilder(
        lambda: cast(Store, counting), lambda: rules, clock, tmp_path / "site", debounce_seconds=0
    )
    await builder.build()
    assert rec.INCIDENTS in counting.listed  # the first build reads everything
    counting.listed.clear()
    (record,) = await public_incidents(store)
    raw = {"status": "monitoring", "body": "A fix is out."}
    command = update_command(raw, KNOWN, record.incident.id, new_id(), clock.now(), Impact.MAJOR)
    await builder.changed(await _command(store, status, command))
    await builder.build()
    assert counting.listed == []
    page = (tmp_path / "site" / "index.html").read_text()
    assert "A fix is out." in page
    assert ComponentStatus.MAJOR_OUTAGE.value in (tmp_path / "site/api/v2/summary.json").read_text()


async def test_a_rebuild_with_nothing_new_writes_no_file(
    store: Store, rules: Rules, tmp_path: Path
) -> None:
    # Before: the front page said when it was built, and with no incident yet the feeds
    # did too, so each rebuild rewrote them.
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await drain(status)
    clock.advance(timedelta(hours=1))  # today's uptime reads 100%, as it will a minute on
    builder = SiteBuilder(
        lambda: store, lambda: rules, clock, tmp_path / "site", debounce_seconds=0
    )
    first = await builder.build()
    assert "index.html" in first.written
    clock.advance(MIN)
    await builder.changed(Changes())
    again = await builder.build()
    assert again.written == (), again.written


async def test_an_update_writes_only_the_files_it_changes(
    store: Store, rules: Rules, tmp_path: Path
) -> None:
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await opened(store, 1, T)
    await opened(store, 2, T)
    clock.set(T + MIN)
    await drain(status)
    builder = SiteBuilder(
        lambda: store, lambda: rules, clock, tmp_path / "site", debounce_seconds=0
    )
    await builder.build()
    first, second = await public_incidents(store)
    raw = {"status": "monitoring", "body": "A fix is out."}
    command = update_command(raw, KNOWN, first.incident.id, new_id(), clock.now(), Impact.MAJOR)
    await builder.changed(await _command(store, status, command))
    written = set((await builder.build()).written)
    assert f"incidents/{first.incident.id}.html" in written
    assert f"incidents/{second.incident.id}.html" not in written
    assert {"index.html", "api/v2/incidents/unresolved.json", "history.atom"} <= written
    # Neither the badge (the status word is the same) nor the stylesheet.
    assert not written & {"badge.svg", "style.css", "history/index.html"}


async def test_after_a_failed_write_the_next_compares_with_the_disk(
    store: Store, rules: Rules, tmp_path: Path
) -> None:
    # The failed write may have left some files of its build: the next build must not
    # take the directory to hold the build before it.
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await opened(store, 1, T)
    clock.set(T + MIN)
    await drain(status)
    out = tmp_path / "site"
    builder = SiteBuilder(lambda: store, lambda: rules, clock, out, debounce_seconds=0)
    await builder.build()
    before = (out / "api/v2/incidents/unresolved.json").read_bytes()
    (record,) = await public_incidents(store)
    raw = {"status": "monitoring", "body": "A fix is out."}
    command = update_command(raw, KNOWN, record.incident.id, new_id(), clock.now(), Impact.MAJOR)
    await builder.changed(await _command(store, status, command))
    # index.html is written last: make its rename fail (a directory in the way).
    (out / "index.html").unlink()
    (out / "index.html").mkdir()
    with pytest.raises(OSError):
        await builder.build()
    assert (out / "api/v2/incidents/unresolved.json").read_bytes() != before
    # The directory now holds part of that build; put back what was there before it.
    (out / "index.html").rmdir()
    (out / "api/v2/incidents/unresolved.json").write_bytes(before)
    await builder.changed(Changes())
    result = await builder.build()
    assert "api/v2/incidents/unresolved.json" in result.written
    assert "A fix is out." in (out / "api/v2/incidents/unresolved.json").read_text()
    assert "A fix is out." in (out / "index.html").read_text()
