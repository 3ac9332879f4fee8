"""How correlation treats time: auto-resolve, flap damping, hold-back thresholds, heartbeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Tuning:
    """Correlation timings; the defaults suit Prometheus' one-minute resends.

    - ``resolve_timeout``: a firing alert with no ``ends_at`` that is not refreshed for
      this long is resolved as stale (the source may have died), as Alertmanager does.
    - ``resolve_delay``: once all alerts resolved, wait this long before resolving the
      incident, absorbing a quick re-fire.
    - ``flap_changes`` within ``flap_window`` mark the incident flapping; a flapping
      incident resolves only after ``flap_hold_down`` without changes.
    - ``hold_alerts`` / ``hold_duration``: an incident stays held (no paging) until it has
      this many firing alerts or has been open this long (PagerDuty's auto-pause);
      0 and zero disable the gate.
    """

    resolve_timeout: timedelta = timedelta(minutes=5)
    resolve_delay: timedelta = timedelta(0)
    flap_changes: int = 4
    flap_window: timedelta = timedelta(minutes=10)
    flap_hold_down: timedelta = timedelta(minutes=5)
    hold_alerts: int = 0
    hold_duration: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class HeartbeatRule:
    """A heartbeat expected every ``interval``; when it stops, an incident opens."""

    name: str
    interval: timedelta
    labels: tuple[tuple[str, str], ...] = ()
