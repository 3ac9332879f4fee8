"""Two real Alertmanagers in a cluster both notify Tocsin: late copies never re-fire (issue 9 item 9).

As Prometheus does, the test sends the same alert (same ``startsAt``) to both peers.
Then only one peer learns that it resolved, as when a resolve reaches one peer of an HA
pair before the other: that peer notifies the resolve, and the other, which still sees
the alert firing and finds the resolve in the shared notification log, notifies it
firing again, after the resolve. Those firing copies carry the start of an alert its
sender already resolved: Tocsin counts them and keeps the alert resolved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.fingerprint import labels_fingerprint
from core.incident import Incident
from core.model import AlertStatus
from core.store import IncidentQuery
from core.store.factory import store_from_url
from core.timestamps import format_rfc3339
from tests.server_process import AM_SOURCE, AM_TOKEN, StartPeer, StartTocsin, TocsinProcess
from tests.support import free_port, poll_until

pytestmark = pytest.mark.peers

# Bound a broken run; the test moves on as soon as what it waits for happens.
DELIVERY_DEADLINE_SECONDS = 60.0

LABELS = {"alertname": "QueueStuck", "instance": "mq1:9100", "service": "mq"}
FINGERPRINT = labels_fingerprint(LABELS)

_CONFIG = """\
route:
  receiver: tocsin
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: {url}/ingest/alertmanager
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: {token}}}
"""


async def start_pair(
    start_peer: StartPeer, binary: str, directory: Path, tocsin: TocsinProcess
) -> tuple[str, str]:
    """Starts two clustered Alertmanagers notifying Tocsin; returns their URLs."""
    directory.mkdir()  # noqa: ASYNC240 - before any process starts
    config = directory / "alertmanager.yml"
    config.write_text(_CONFIG.format(url=tocsin.url, token=AM_TOKEN))
    cluster = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    for n, url in enumerate(urls):
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.path={directory / f'data-{n}'}",
            f"--web.listen-address={url.removeprefix('http://')}",
            f"--web.external-url={url}",
            f"--cluster.listen-address={cluster[n]}",
            f"--cluster.peer={cluster[1 - n]}",
            # The second peer waits this long before notifying what the first did not.
            "--cluster.peer-timeout=2s",
            "--cluster.settle-timeout=2s",
        ]
        await start_peer(f"alertmanager-{n}", argv, f"{url}/-/ready")
    return urls[0], urls[1]


async def push(alertmanager: str, alerts: list[dict[str, Any]]) -> None:
    """Posts alerts to Alertmanager's own API, as Prometheus does."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{alertmanager}/api/v2/alerts", json=alerts) as response,
    ):
        assert response.status == 200, await response.text()


async def test_late_firing_copies_from_the_other_peer_never_refire_a_resolved_alert(
    start_tocsin: StartTocsin, start_peer: StartPeer, alertmanager_binary: str, tmp_path: Path
) -> None:
    tocsin = await start_tocsin()
    first, second = await start_pair(start_peer, alertmanager_binary, tmp_path / "am", tocsin)
    store = store_from_url(tocsin.store)
    await store.open()
    try:
        starts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
        firing = {
            "labels": LABELS,
            "annotations": {"summary": "queue stuck on mq1"},
            "startsAt": format_rfc3339(starts),
            "endsAt": format_rfc3339(starts + timedelta(minutes=30)),
        }
        await push(first, [firing])
        await push(second, [firing])

        async def alert_status() -> AlertStatus | None:
            for incident in await store.list_incidents(IncidentQuery(limit=10)):
                known = incident.alerts.get(FINGERPRINT)
                if known is not None:
                    return known.status
            return None

        async def firing_in_tocsin() -> bool | None:
            return True if await alert_status() is AlertStatus.FIRING else None

        await poll_until(firing_in_tocsin, DELIVERY_DEADLINE_SECONDS, interval=0.2)

        # The resolve reaches the first peer only (the second still sees the alert firing).
        resolved_at = datetime.now(UTC)
        await push(first, [{**firing, "endsAt": format_rfc3339(resolved_at)}])

        async def late_copies() -> float | None:
            late = await tocsin.metric("tocsin_correlator_late_copies_total", status="firing")
            return late if late >= 1 else None

        # The second peer, finding the first's resolve in the notification log while it
        # still sees the alert firing, notifies it firing again (same startsAt).
        await poll_until(late_copies, DELIVERY_DEADLINE_SECONDS, interval=0.5)
        assert await alert_status() is AlertStatus.RESOLVED

        # Tocsin did receive those firing copies after the resolve: they are in its log.
        logged = [a for a in await tocsin.stored_alerts() if a.fingerprint == FINGERPRINT]
        statuses = [a.status for a in logged]
        resolve = statuses.index(AlertStatus.RESOLVED)
        assert AlertStatus.FIRING in statuses[resolve:]
        assert all(a.source == AM_SOURCE and a.starts_at == starts for a in logged)

        [incident] = [
            i
            for i in await store.list_incidents(IncidentQuery(limit=10))
            if FINGERPRINT in i.alerts
        ]
        kinds = [e.kind for e in await store.incident_events(incident.id)]
        assert "alert_resolved" in kinds
        after_resolve = kinds[kinds.index("alert_resolved") :]
        assert "alert_firing" not in after_resolve
        assert "reopened" not in after_resolve
        assert_never_refired(incident)
    finally:
        await store.close()


def assert_never_refired(incident: Incident) -> None:
    """The alert changed state once (firing -> resolved), whatever arrived after."""
    [known] = [a for a in incident.alerts.values() if a.fingerprint == FINGERPRINT]
    assert known.status is AlertStatus.RESOLVED
    assert len(known.transitions) == 1
