"""What the Alertmanager API keeps between reads, and how a replaced read is let go.

Real SQLite; a replaced read's lists are emptied slice by slice once no request uses
it (freed at once, 100,000 alerts held the event loop some 80 ms), and never what the
current read shares with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.model import AlertStatus
from core.store import CorrelationCommit, IncidentAlertWrite, Store
from core.store.sqlite import SQLiteStore
from rules.model import Rules
from tests.contract.builders import make_incident
from tests.contract.test_incident_alerts_contract import GROUP, big_incident, create
from tocsin.amapi.open_alerts import OpenAlerts


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    sqlite_store = SQLiteStore(tmp_path / "tocsin.db")
    await sqlite_store.open()
    await create(sqlite_store, big_incident(40))
    await create(sqlite_store, make_incident(2))
    yield sqlite_store
    await sqlite_store.close()


async def test_a_replaced_read_is_emptied_once_nobody_uses_it(store: Store) -> None:
    rules = Rules(sources=())
    open_alerts = OpenAlerts()
    async with open_alerts.read(store, rules) as first:
        # A reload of the rules renders everything again, while a request streams the first.
        async with open_alerts.read(store, Rules(sources=())) as second:
            assert second is not first
        assert (
            len(first.alerts) == 40
        )  # still in use: whole (incident 2 shares its one alert with 1)

    assert len(first.alerts) == 0
    assert all(len(h.alerts) == 0 for h in first.incidents)
    async with open_alerts.read(store, second.renderer.rules) as third:
        assert third is second  # nothing changed: the same read, whole
        assert len(third.alerts) == 40


async def test_a_replaced_reads_decoded_labels_are_emptied_too(store: Store) -> None:
    open_alerts = OpenAlerts()
    async with open_alerts.read(store, Rules(sources=())) as first:
        # A filter decoded the labels of the open alerts and of each incident's.
        decoded = [first.alerts.label_sets(), *(h.alerts.label_sets() for h in first.incidents)]
        assert len(decoded[0]) == 40
        async with open_alerts.read(store, Rules(sources=())) as second:
            assert second is not first

    assert all(not labels for labels in decoded)


async def test_what_the_current_read_shares_is_kept(store: Store) -> None:
    rules = Rules(sources=())
    open_alerts = OpenAlerts()
    async with open_alerts.read(store, rules) as first:
        pass
    big = next(h for h in first.incidents if len(h.alerts) == 40)
    # Incident 2 changes; incident 1, unchanged, is carried over as it was.
    changed = make_incident(2)
    [alert] = changed.alerts.values()
    resolved = replace(alert, status=AlertStatus.RESOLVED)
    updated = replace(changed, version=2, alerts={alert.fingerprint: resolved})
    writes = (IncidentAlertWrite(changed.id, resolved),)
    await store.commit(CorrelationCommit(GROUP, incidents=(updated,), alerts=writes))

    async with open_alerts.read(store, rules) as second:
        pass

    assert big in second.incidents
    assert len(big.alerts) == 40
    assert len(second.alerts) == 40
    assert len(first.alerts) == 0
