"""Domain objects for the store contract tests: distinct, fully populated, built by number."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.incident import Incident, IncidentAlert, IncidentEvent, IncidentState
from core.model import Alert, AlertStatus
from core.silence import LabelMatcher, Silence
from core.store import Store

StoreOpener = Callable[[], Awaitable[Store]]

T0 = datetime(2024, 3, 10, 1, 59, 59, 123456, tzinfo=UTC)


def make_alert(n: int, **changes: object) -> Alert:
    """Returns a distinct firing alert number ``n``; ``changes`` override its fields."""
    fields: dict[str, object] = {
        "source": "prometheus",
        "fingerprint": f"{n:016x}",
        "labels": {"alertname": "HighLatency", "instance": f"web-{n}"},
        "annotations": {"summary": f"latency on web-{n}"},
        "status": AlertStatus.FIRING,
        "starts_at": T0 + timedelta(seconds=n),
        "ends_at": None,
        "generator_url": f"http://prometheus:9090/graph?g0.expr=up&n={n}",
        "received_at": T0 + timedelta(seconds=n, microseconds=7),
    }
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


def make_incident(n: int, **changes: Any) -> Incident:
    """Returns incident number ``n`` at version 1, opened ``n`` minutes after T0, with one alert."""
    alert = IncidentAlert(
        fingerprint=f"{n:016x}",
        labels={"alertname": "HighLatency", "instance": f"web-{n}", "サービス": "決済"},
        status=AlertStatus.FIRING,
        first_seen=T0 + timedelta(minutes=n),
        last_seen=T0 + timedelta(minutes=n, seconds=30),
        count=3,
        position=str(n),
        transitions=(T0 + timedelta(minutes=n, seconds=10),),
        annotations={"summary": f"latency on web-{n}", "runbook": "https://wiki/Übertragung"},
        generator_url=f"http://prometheus:9090/graph?g0.expr=up&n={n}",
        starts_at=T0 + timedelta(minutes=n, seconds=-90),
        first_received_at=T0 + timedelta(minutes=n, seconds=-1),
        last_received_at=T0 + timedelta(minutes=n, seconds=29),
    )
    incident = Incident(
        id=f"inc-{n:04d}",
        group_key=f'{{}}:{{alertname="HighLatency",instance="web-{n}"}}',
        title=f"High latency on web-{n}",
        state=IncidentState.TRIGGERED,
        opened_at=T0 + timedelta(minutes=n),
        alerts={alert.fingerprint: alert},
        version=1,
        category="performance",
        service="checkout",
        impact=2,
        urgency=1,
        priority="P2",
        team="web",
        components=("Checkout API",),
    )
    return replace(incident, **changes)


def make_event(incident: Incident, n: int, kind: str = "alert_added") -> IncidentEvent:
    """Returns timeline event number ``n`` of ``incident``."""
    return IncidentEvent(
        incident_id=incident.id,
        at=T0 + timedelta(minutes=n, microseconds=n),
        actor="correlate",
        kind=kind,
        detail={"n": n, "note": "Übertragung 🔥", "labels": {"instance": f"web-{n}"}},
    )


def make_silence(n: int, **changes: Any) -> Silence:
    """Returns silence number ``n``, created ``n`` minutes after T0, lasting two hours."""
    silence = Silence(
        id=f"sil-{n:04d}",
        matchers=(
            LabelMatcher("alertname", "=", "HighLatency"),
            LabelMatcher("instance", "=~", f"web-{n}|web-\\d+"),
            LabelMatcher("env", "!=", "dev"),
            LabelMatcher("team", "!~", 'ops"'),
        ),
        starts_at=T0 + timedelta(minutes=n),
        ends_at=T0 + timedelta(minutes=n, hours=2),
        created_by="alice",
        comment=f"Maintenance of web-{n}, Übertragung",
        created_at=T0 + timedelta(minutes=n),
    )
    return replace(silence, **changes)
