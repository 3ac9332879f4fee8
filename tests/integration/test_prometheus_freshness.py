"""A real Prometheus at the extreme (resend delay = evaluation interval) never sees its alert expire.

Prometheus evaluates an always-firing rule every second and, with
``--rules.alert.resend-delay=1s``, sends it every other evaluation with an ``endsAt``
4 s ahead. Tocsin logs only some of those resends (the rest are duplicates), so the end
in its log runs out just as the next resend arrives; the ends of the duplicates,
recorded beside the log, must keep the alert firing over many resend cycles (issue 9
items 3, 8). Once Prometheus stops, the alert expires at the last end it sent (and its incident,
stale-resolved, a resolve delay later).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from core.fingerprint import labels_fingerprint
from core.incident import Incident, IncidentState
from core.model import AlertStatus
from core.store import IncidentQuery, Store
from core.store.factory import store_from_url
from tests.server_process import PROM_PASSWORD, PROM_USER, OutsideProcess, StartPeer, StartTocsin
from tests.support import free_port, poll_until

pytestmark = pytest.mark.peers

# Deadlines only bound a broken run; the test ends as soon as what it waits for happens.
FIRST_INCIDENT_DEADLINE_SECONDS = 60.0
CYCLES_DEADLINE_SECONDS = 90.0
EXPIRY_DEADLINE_SECONDS = 60.0
# Resend cycles to watch: each moves the alert's end 2 s on (a send every other second).
CYCLES = 8
VALID_FOR_SECONDS = 4.0  # 4 x max(resend delay, evaluation interval)

LABELS = {"alertname": "AlwaysFiring", "severity": "info", "env": "itest", "replica": "a"}
FINGERPRINT = labels_fingerprint(LABELS)

_CONFIG = """\
global:
  evaluation_interval: 1s
  external_labels: {{env: itest, replica: a}}
rule_files: [{rules}]
alerting:
  alertmanagers:
    - api_version: v2
      basic_auth: {{username: {username}, password: {password}}}
      static_configs: [{{targets: ['127.0.0.1:{port}']}}]
"""

_RULES = """\
groups:
  - name: itest
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: info}
"""


@pytest.fixture
async def store_reader(tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Stores opened by the test on Tocsin's data, closed at the end."""
    opened: list[Store] = []
    yield opened
    for store in opened:
        await store.close()


async def start_prometheus(
    start_peer: StartPeer, binary: str, directory: Path, port: int
) -> OutsideProcess:
    directory.mkdir()  # noqa: ASYNC240 - before the process starts, nothing waits on it
    rules = directory / "rules.yml"
    rules.write_text(_RULES)
    config = directory / "prometheus.yml"
    config.write_text(
        _CONFIG.format(rules=rules, username=PROM_USER, password=PROM_PASSWORD, port=port)
    )
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        "--rules.alert.resend-delay=1s",
    ]
    return await start_peer("prometheus", argv, f"{url}/-/ready")


async def test_an_alert_resent_at_the_extreme_never_expires_then_expires_at_its_last_end(
    start_tocsin: StartTocsin,
    start_peer: StartPeer,
    prometheus_binary: str,
    tmp_path: Path,
    store_reader: list[Store],
) -> None:
    tocsin = await start_tocsin(None, "--correlator-sweep-seconds", "0.5")
    store = store_from_url(tocsin.store)
    await store.open()
    store_reader.append(store)
    prometheus = await start_prometheus(
        start_peer, prometheus_binary, tmp_path / "prom", tocsin.port
    )

    async def incident() -> Incident | None:
        found = await store.list_incidents(IncidentQuery(limit=10))
        return found[0] if found else None

    async def recorded_end() -> datetime | None:
        return (await store.latest_ends([FINGERPRINT])).get(FINGERPRINT)

    first = await poll_until(incident, FIRST_INCIDENT_DEADLINE_SECONDS, interval=0.2)
    first_end = await poll_until(recorded_end, FIRST_INCIDENT_DEADLINE_SECONDS, interval=0.2)

    async def cycles_passed() -> datetime | None:
        end = await recorded_end()
        assert end is not None
        seconds = (end - first_end).total_seconds()
        return end if seconds >= CYCLES * VALID_FOR_SECONDS / 2 else None

    await poll_until(cycles_passed, CYCLES_DEADLINE_SECONDS, interval=0.5)
    current = await store.get_incident(first.id)
    assert current is not None
    events = [e.kind for e in await store.incident_events(first.id)]
    assert "alert_expired" not in events, tocsin.describe(f"expired while firing: {events}")
    assert current.state is IncidentState.TRIGGERED
    deduplicated = await tocsin.metric("tocsin_alerts_deduplicated_total", source="prometheus")
    assert deduplicated >= CYCLES / 2  # resends were duplicates, not log writes

    # Prometheus stops (as if it died): the alert expires at the last end it sent.
    prometheus.kill()
    last_end = await recorded_end()
    assert last_end is not None

    async def expired() -> Incident | None:
        found = await store.get_incident(first.id)
        assert found is not None
        return found if all(a.expired for a in found.alerts.values()) else None

    # (The incident resolves, stale, a resolve delay later: 1 minute by default.)
    final = await poll_until(expired, EXPIRY_DEADLINE_SECONDS, interval=0.5)
    [alert] = final.alerts.values()
    assert alert.status is AlertStatus.RESOLVED
    assert alert.ends_at is not None
    assert alert.transitions[-1] == max(last_end, alert.ends_at)
    assert "alert_expired" in [e.kind for e in await store.incident_events(first.id)]
