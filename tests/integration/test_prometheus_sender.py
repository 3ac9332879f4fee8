"""A real Prometheus 2.42 sends its alerts straight to Tocsin, as if Tocsin were an Alertmanager.

Prometheus evaluates an always-firing rule every second and resends it every few seconds
(``--rules.alert.resend-delay=2s``) to ``POST /api/v2/alerts`` with basic auth. Tocsin must
store it with Prometheus' labels and Alertmanager's fingerprint, and recognise the resends
as duplicates instead of writing each one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.fingerprint import labels_fingerprint
from core.model import Alert, AlertStatus
from tests.server_process import (
    PROM_PASSWORD,
    PROM_SOURCE,
    PROM_USER,
    StartPeer,
    StartTocsin,
    TocsinProcess,
)
from tests.support import free_port, poll_until

pytestmark = pytest.mark.peers

# The reference saw the first delivery ~6 s after start (static targets are applied on a
# 5 s discovery tick; earlier sends are dropped). The deadlines only bound a broken run.
FIRST_DELIVERY_DEADLINE_SECONDS = 60.0
RESENDS_DEADLINE_SECONDS = 60.0

EXPECTED_LABELS = {
    "alertname": "AlwaysFiring",
    "severity": "info",
    "team": "sre",
    # External labels, which Prometheus adds to every alert it sends.
    "env": "itest",
    "replica": "a",
}

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
        labels: {severity: info, team: sre}
        annotations: {summary: "Always firing (value {{ $value }})"}
"""


def write_config(directory: Path, tocsin: TocsinProcess) -> Path:
    """Writes prometheus.yml and its rule file; Tocsin is the only Alertmanager."""
    directory.mkdir()
    rules = directory / "rules.yml"
    rules.write_text(_RULES)
    config = directory / "prometheus.yml"
    config.write_text(
        _CONFIG.format(rules=rules, username=PROM_USER, password=PROM_PASSWORD, port=tocsin.port)
    )
    return config


async def start_prometheus(
    start_peer: StartPeer, binary: str, directory: Path, tocsin: TocsinProcess
) -> str:
    """Starts Prometheus on loopback, alerting Tocsin; returns its URL."""
    config = write_config(directory, tocsin)
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        f"--web.external-url={url}",
        "--rules.alert.resend-delay=2s",
    ]
    await start_peer("prometheus", argv, f"{url}/-/ready")
    return url


async def test_prometheus_alert_is_stored_with_its_labels_and_resends_are_deduplicated(
    start_tocsin: StartTocsin, start_peer: StartPeer, prometheus_binary: str, tmp_path: Path
) -> None:
    tocsin = await start_tocsin()
    prometheus = await start_prometheus(start_peer, prometheus_binary, tmp_path / "prom", tocsin)

    async def always_firing() -> Alert | None:
        for alert in await tocsin.stored_alerts():
            if alert.labels.get("alertname") == "AlwaysFiring":
                return alert
        return None

    alert = await poll_until(always_firing, FIRST_DELIVERY_DEADLINE_SECONDS, interval=0.2)
    assert dict(alert.labels) == EXPECTED_LABELS
    assert alert.status is AlertStatus.FIRING
    assert alert.source == PROM_SOURCE
    assert alert.fingerprint == labels_fingerprint(EXPECTED_LABELS)
    assert alert.annotations == {"summary": "Always firing (value 1)"}
    assert alert.generator_url.startswith(f"{prometheus}/graph?g0.expr=vector%281%29")
    # Prometheus sends endsAt = now + 4 x resend delay, so an expiry is known.
    assert alert.ends_at is not None

    async def deduplicated_twice() -> float | None:
        deduplicated = await tocsin.metric("tocsin_alerts_deduplicated_total", source=PROM_SOURCE)
        return deduplicated if deduplicated >= 2 else None

    await poll_until(deduplicated_twice, RESENDS_DEADLINE_SECONDS, interval=0.2)

    stored_total = await tocsin.metric("tocsin_alerts_stored_total", source=PROM_SOURCE)
    accepted_total = await tocsin.metric("tocsin_alerts_accepted_total", source=PROM_SOURCE)
    rewrites = [a for a in await tocsin.stored_alerts() if a.fingerprint == alert.fingerprint]
    # Every resend was accepted; only the first copy and the freshness refreshes were
    # written (Prometheus' endsAt is 8 s ahead, so a refresh falls due every 4 s).
    assert all(a.status is AlertStatus.FIRING and a.starts_at == alert.starts_at for a in rewrites)
    assert len(rewrites) == stored_total
    assert accepted_total > stored_total
    assert stored_total <= 4, f"{stored_total} of {accepted_total} resends were written"
