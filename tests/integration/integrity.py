"""Checks that a store holds no incident, alert or timeline entry twice, for the crash tests.

After any crash the correlator resumes from its last commit; a commit is atomic, so a
step is either wholly in the store or not at all and is then redone. These checks look
for what a torn or repeated step would leave: a group with two open incidents, an alert
in two incidents, a timeline entry written twice, an alert counted more often than the
log holds it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from core.incident import Incident
from core.model import LogEntry
from core.store import IncidentQuery, Store
from core.store.factory import store_from_url
from tests.support import poll_until

# Long enough for a loaded machine to correlate a test's storms after the last crash.
CATCH_UP_SECONDS = 90.0


async def open_store(url: str) -> Store:
    """Opens the store at ``url`` (the caller closes it)."""
    store = store_from_url(url)
    await store.open()
    return store


async def log_entries(store: Store) -> list[LogEntry]:
    """The whole alert log, in order."""
    entries: list[LogEntry] = []
    cursor: str | None = None
    while batch := await store.read(after=cursor, limit=10_000):
        entries.extend(batch)
        cursor = batch[-1].cursor
    return entries


def _fingerprinted(detail: Any) -> list[tuple[str, str]]:
    """(fingerprint, status or "") of each alert an event names."""
    if not isinstance(detail, dict):
        return []
    named = [detail] if "fingerprint" in detail else []
    named += [a for a in detail.get("alerts", ()) if isinstance(a, dict) and "fingerprint" in a]
    return [(str(a["fingerprint"]), str(a.get("status", ""))) for a in named]


async def assert_no_duplicates(store: Store) -> list[Incident]:
    """Checks the incidents and timelines hold nothing twice; returns the incidents."""
    incidents = await store.list_incidents(IncidentQuery(limit=1_000))
    open_by_group: dict[str, list[str]] = defaultdict(list)
    holders: dict[str, list[str]] = defaultdict(list)
    for incident in incidents:
        if incident.is_open:
            open_by_group[incident.group_key].append(incident.id)
        for fingerprint in incident.alerts:
            holders[fingerprint].append(incident.id)
    twice_open = {g: ids for g, ids in open_by_group.items() if len(ids) > 1}
    assert not twice_open, f"groups with more than one open incident: {twice_open}"
    shared = {fp: ids for fp, ids in holders.items() if len(ids) > 1}
    assert not shared, f"{len(shared)} alerts are in more than one incident"
    for incident in incidents:
        events = await store.incident_events(incident.id)
        kinds = Counter(e.kind for e in events)
        assert kinds["opened"] == 1, f"incident {incident.id} opened {kinds['opened']} times"
        seen = Counter(
            (event.kind, fingerprint, status)
            for event in events
            for fingerprint, status in _fingerprinted(event.detail)
        )
        repeated = [key for key, n in seen.items() if n > 1]
        assert not repeated, f"incident {incident.id} repeats timeline entries: {repeated[:5]}"
    return incidents


async def assert_complete(store_url: str, acknowledged: set[str]) -> None:
    """Waits until the whole alert log is correlated, then checks each entry was applied once.

    The log is final (nothing is sent any more); it holds every acknowledged alert and
    maybe some whose request failed after they were stored.
    """
    store = await open_store(store_url)
    try:
        entries = await log_entries(store)
        logged = Counter(e.alert.fingerprint for e in entries)
        last_position = {e.alert.fingerprint: e.cursor for e in entries}
        missing = acknowledged - logged.keys()
        assert not missing, f"{len(missing)} acknowledged alerts are not in the log"

        async def all_in() -> bool | None:
            incidents = await store.list_incidents(IncidentQuery(limit=1_000))
            held = {fp for incident in incidents for fp in incident.alerts}
            return True if logged.keys() <= held else None

        try:
            await poll_until(all_in, deadline_seconds=CATCH_UP_SECONDS, interval=0.2)
        except TimeoutError as exc:
            raise AssertionError("the correlator did not catch up with the log") from exc
        incidents = await assert_no_duplicates(store)
        for incident in incidents:
            for fingerprint, alert in incident.alerts.items():
                assert alert.count == logged[fingerprint], (fingerprint, alert.count)
                assert alert.position == last_position[fingerprint], fingerprint
        held = sum(len(i.alerts) for i in incidents)
        assert held == len(logged), f"{held} alerts in incidents, {len(logged)} in the log"
    finally:
        await store.close()
