"""The dead man's switch of a Prometheus estate, through a real Alertmanager.

Alertmanager resends the always-firing ``Watchdog`` unchanged at every
``repeat_interval``; each delivery must move the heartbeat's last ping, although Tocsin
answers it as a duplicate, and the Watchdog must never reach the alert log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.store.factory import store_from_url
from core.timestamps import from_micros
from tests.integration.test_alertmanager_sender import push, start_alertmanager
from tests.server_process import AM_TOKEN, StartPeer, StartTocsin, write_test_rules
from tests.support import poll_until

pytestmark = pytest.mark.peers

# Alertmanager repeats the group every 2 s (below); a handful of repeats bounds a broken run.
DEADLINE_SECONDS = 30.0

_HEARTBEAT = """\
heartbeats:
  - name: prometheus-watchdog
    interval: 5m
    alert: {matchers: ['alertname="Watchdog"']}
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    """The test rules plus a heartbeat that expects the Watchdog."""
    path = write_test_rules(tmp_path / "rules")
    path.write_text(path.read_text() + _HEARTBEAT)
    return path


async def test_every_watchdog_repeat_from_alertmanager_moves_the_heartbeat(
    start_tocsin: StartTocsin, start_peer: StartPeer, alertmanager_binary: str, tmp_path: Path
) -> None:
    tocsin = await start_tocsin()
    alertmanager, _ = await start_alertmanager(
        start_peer,
        alertmanager_binary,
        tmp_path / "am",
        tocsin,
        AM_TOKEN,
        repeat_interval="2s",
    )
    await push(alertmanager, [{"labels": {"alertname": "Watchdog", "severity": "none"}}])
    store = store_from_url(tocsin.store)
    await store.open()
    try:
        pings: set[str] = set()

        # The first value is the correlator's: it starts the interval when it learns of
        # the heartbeat. Each later one is a delivery.
        async def three_deliveries() -> bool | None:
            last = await store.load_cursor("heartbeat:prometheus-watchdog")
            if last is not None:
                pings.add(last)
            return True if len(pings) >= 4 else None

        await poll_until(three_deliveries, DEADLINE_SECONDS, interval=0.2)
    finally:
        await store.close()
    assert len({from_micros(int(p)) for p in pings}) >= 4
    # Deliveries after the first are unchanged duplicates, and all of them counted; the
    # heartbeat took every one, so none reached the log.
    stored = await tocsin.stored_alerts()
    assert "Watchdog" not in {a.labels["alertname"] for a in stored}
    assert await tocsin.metric("tocsin_alerts_accepted_total") >= 3
