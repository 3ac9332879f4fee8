"""SQLite keeps an incident's alerts in rows of bounded size, so no read decodes a storm at once.

A reader decodes each row with one orjson call, which holds the GIL: one row with every
alert of a 90,000-alert storm stalled the serving process's event loop for 0.8 s.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.store.sqlite import SQLiteStore
from tests.correlate.harness import T0, alert, load_test_rules, make_harness

STORM = 5_000


def _largest_row(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT json_array_length(CAST(body AS TEXT)) FROM incident_alert_batch"
        ).fetchall()
    return max(n for (n,) in rows), len(rows)


async def test_a_storm_step_and_its_merges_write_rows_of_at_most_2000_alerts(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    try:
        harness = make_harness(store, load_test_rules(tmp_path), batch_size=STORM)
        storm = [
            alert(T0, alertname="DiskFull", service="db", instance=f"db{i}") for i in range(STORM)
        ]
        await harness.send(*storm)
        largest, rows = _largest_row(tmp_path / "tocsin.db")
        assert largest <= 2_000
        assert rows >= 3
        # Resends add batches until the incident's rows merge: merged rows are bounded too.
        for _ in range(3):
            harness.advance(minutes=1)
            await harness.send(*storm)
        largest, _ = _largest_row(tmp_path / "tocsin.db")
        assert largest <= 2_000
        incident = await harness.only_incident()
        assert len(incident.alerts) == STORM
        assert {a.count for a in incident.alerts.values()} == {4}
    finally:
        await store.close()
