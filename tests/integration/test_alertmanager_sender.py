"""A real Alertmanager 0.25 delivers to Tocsin's webhook receiver, with and without the right token.

Alerts are pushed into Alertmanager's own API; Alertmanager groups them (group_wait 1 s)
and calls Tocsin, which must store exactly what Alertmanager knows: the same alerts,
fingerprints and statuses, and nothing at all when the token is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.fingerprint import labels_fingerprint
from core.model import Alert, AlertStatus
from tests.server_process import (
    AM_SOURCE,
    AM_TOKEN,
    OutsideProcess,
    StartPeer,
    StartTocsin,
    TocsinProcess,
    scrape_metric,
)
from tests.support import free_port, poll_until

pytestmark = pytest.mark.peers

# Alertmanager flushes 1 s after the first alert and every second after that; a resolve
# arrives within a tick or two. The deadline only bounds a broken run.
DELIVERY_DEADLINE_SECONDS = 20.0

DB1 = {"alertname": "DiskFull", "instance": "db1:9100", "service": "db", "severity": "critical"}
DB2 = {"alertname": "DiskFull", "instance": "db2:9100", "service": "db", "severity": "critical"}

_CONFIG = """\
route:
  receiver: tocsin
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: {repeat_interval}
receivers:
  - name: tocsin
    webhook_configs:
      - url: {url}/ingest/alertmanager
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: {token}}}
"""


def write_config(
    directory: Path, tocsin: TocsinProcess, token: str, repeat_interval: str = "1h"
) -> Path:
    """Writes an alertmanager.yml whose only receiver is Tocsin's webhook endpoint."""
    directory.mkdir()
    config = directory / "alertmanager.yml"
    config.write_text(_CONFIG.format(url=tocsin.url, token=token, repeat_interval=repeat_interval))
    return config


async def start_alertmanager(
    start_peer: StartPeer,
    binary: str,
    directory: Path,
    tocsin: TocsinProcess,
    token: str,
    *,
    repeat_interval: str = "1h",
) -> tuple[str, OutsideProcess]:
    """Starts Alertmanager on loopback, without clustering, notifying Tocsin; returns its URL."""
    config = write_config(directory, tocsin, token, repeat_interval)
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={directory / 'data'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        f"--web.external-url={url}",
        "--cluster.listen-address=",
    ]
    return url, await start_peer("alertmanager", argv, f"{url}/-/ready")


async def push(alertmanager: str, alerts: list[dict[str, Any]]) -> None:
    """Posts alerts to Alertmanager's own API, as a client such as amtool would."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{alertmanager}/api/v2/alerts", json=alerts) as response,
    ):
        assert response.status == 200, await response.text()


async def alertmanager_fingerprints(alertmanager: str) -> dict[str, str]:
    """Returns Alertmanager's fingerprint of each alert it holds, keyed by instance."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{alertmanager}/api/v2/alerts") as response,
    ):
        assert response.status == 200
        body = await response.json()
    return {a["labels"]["instance"]: a["fingerprint"] for a in body}


def find(alerts: list[Alert], labels: Mapping[str, str], status: AlertStatus) -> Alert | None:
    """Returns the first stored alert with these labels and this status."""
    for alert in alerts:
        if dict(alert.labels) == dict(labels) and alert.status is status:
            return alert
    return None


async def test_alertmanager_notifications_reach_the_store_with_its_fingerprints_and_statuses(
    start_tocsin: StartTocsin, start_peer: StartPeer, alertmanager_binary: str, tmp_path: Path
) -> None:
    tocsin = await start_tocsin()
    alertmanager, _ = await start_alertmanager(
        start_peer, alertmanager_binary, tmp_path / "am", tocsin, AM_TOKEN
    )
    await push(
        alertmanager,
        [
            {"labels": DB1, "annotations": {"summary": "Disk almost full on db1"}},
            {"labels": DB2, "annotations": {"summary": "Disk almost full on db2"}},
        ],
    )

    async def both_firing() -> tuple[Alert, Alert] | None:
        stored = await tocsin.stored_alerts()
        db1, db2 = find(stored, DB1, AlertStatus.FIRING), find(stored, DB2, AlertStatus.FIRING)
        return None if db1 is None or db2 is None else (db1, db2)

    db1, db2 = await poll_until(both_firing, DELIVERY_DEADLINE_SECONDS, interval=0.2)

    theirs = await alertmanager_fingerprints(alertmanager)
    assert db1.fingerprint == theirs["db1:9100"] == labels_fingerprint(DB1)
    assert db2.fingerprint == theirs["db2:9100"] == labels_fingerprint(DB2)
    assert db1.source == db2.source == AM_SOURCE
    assert db1.annotations["summary"] == "Disk almost full on db1"

    # Resolving through the API: the same labels with endsAt now.
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    await push(alertmanager, [{"labels": DB1, "endsAt": now}])

    async def db1_resolved() -> Alert | None:
        return find(await tocsin.stored_alerts(), DB1, AlertStatus.RESOLVED)

    resolved = await poll_until(db1_resolved, DELIVERY_DEADLINE_SECONDS, interval=0.2)
    assert resolved.fingerprint == db1.fingerprint
    assert resolved.ends_at is not None
    stored = await tocsin.stored_alerts()
    assert find(stored, DB2, AlertStatus.RESOLVED) is None, "db2 was never resolved"


async def test_alertmanager_with_the_wrong_token_fails_to_notify_and_nothing_is_stored(
    start_tocsin: StartTocsin, start_peer: StartPeer, alertmanager_binary: str, tmp_path: Path
) -> None:
    tocsin = await start_tocsin()
    alertmanager, process = await start_alertmanager(
        start_peer, alertmanager_binary, tmp_path / "am", tocsin, "not-" + AM_TOKEN
    )
    await push(alertmanager, [{"labels": DB1, "annotations": {"summary": "Disk full"}}])

    async def failed_notifications() -> float | None:
        failed = await scrape_metric(
            f"{alertmanager}/metrics",
            "alertmanager_notifications_failed_total",
            integration="webhook",
        )
        return failed if failed > 0 else None

    await poll_until(failed_notifications, DELIVERY_DEADLINE_SECONDS, interval=0.2)

    # Alertmanager counted the failure after Tocsin answered it, so it was refused by then.
    assert await tocsin.stored_alerts() == []
    assert await tocsin.metric("tocsin_alerts_stored_total") == 0
    assert (
        await tocsin.metric(
            "tocsin_alerts_rejected_total", source="unknown", reason="unauthenticated"
        )
        >= 1
    )
    # Alertmanager logs the refusal it got (0.25: "unexpected status code 401").
    assert "unexpected status code 401" in process.log_tail(200), process.log_tail()
