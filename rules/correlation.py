"""How correlation treats time: auto-resolve, flap damping, hold-back, and heartbeats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from rules.matchers import Matcher, matches_all


@dataclass(frozen=True, slots=True)
class Tuning:
    """Correlation timings (the ``correlation`` section).

    - ``resolve_timeout``: a firing alert *without* an end time that is not refreshed for
      this long is resolved as stale. 0 (the default) never does: Alertmanager's webhook
      and PagerDuty-style senders repeat a firing alert rarely or never. Alerts that carry
      an end time (Prometheus) expire when it passes, whatever this says.
    - ``resolve_delay``: once all alerts resolved, wait this long before resolving the
      incident, absorbing a quick re-fire. 1 minute by default: Prometheus evaluates
      rules every 15 s to 1 min, and an alert that resolves and fires again within one
      or two evaluations has not recovered; without the delay each such blip would page
      again as a reopen, up to ``flap_changes`` times before flap damping takes over.
      (Alertmanager holds a resolved notification until the next ``group_interval``,
      5 min by default, for the same reason.)
    - ``flap_changes`` within ``flap_window`` mark the incident flapping; a flapping
      incident resolves only after ``flap_hold_down`` without changes.
    - ``hold_alerts`` / ``hold_duration``: an incident stays held (no paging) until it has
      this many firing alerts or has been open this long (PagerDuty's auto-pause);
      0 and 0s switch the gate off.
    """

    resolve_timeout: timedelta = timedelta(0)
    resolve_delay: timedelta = timedelta(minutes=1)
    flap_changes: int = 4
    flap_window: timedelta = timedelta(minutes=10)
    flap_hold_down: timedelta = timedelta(minutes=5)
    hold_alerts: int = 0
    hold_duration: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class TuningOverride:
    """Correlation timings that a route or a category sets; None keeps what applies above.

    The global ``correlation`` section applies to every incident; a route's ``correlation``
    (inherited down the routing tree) overrides it for the route's incidents, and a
    category rule's ``correlation`` overrides both for the incidents of that category, so
    a P1 database route need not wait for the hold meant for noisy blips.
    """

    resolve_timeout: timedelta | None = None
    resolve_delay: timedelta | None = None
    flap_changes: int | None = None
    flap_window: timedelta | None = None
    flap_hold_down: timedelta | None = None
    hold_alerts: int | None = None
    hold_duration: timedelta | None = None

    def over(self, base: Tuning) -> Tuning:
        """Returns ``base`` with the timings this override sets."""
        given = self.given()
        return replace(base, **given) if given else base

    def then(self, child: TuningOverride) -> TuningOverride:
        """Returns this override with ``child``'s settings on top (a subtree inherits)."""
        return replace(self, **child.given())

    def given(self) -> dict[str, Any]:
        """The timings this override sets, by field name (each a timedelta or an int)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None
        }


NO_OVERRIDE = TuningOverride()


HEARTBEAT_ALERTNAME = "HeartbeatMissing"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A dead man's switch: a ping expected every ``interval``; silence opens an incident.

    A ping is a ``POST /ingest/heartbeat/NAME``, or, when ``expect_alert`` is set, any
    delivery of a firing alert those matchers select (Prometheus' always-firing
    ``Watchdog`` through Alertmanager), a duplicate included. With ``consume_alerts`` such
    alerts are taken by the heartbeat and open no incident of their own.
    """

    name: str
    interval: timedelta
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    summary: str = ""
    expect_alert: tuple[Matcher, ...] = ()
    consume_alerts: bool = True

    def expects(self, labels: Mapping[str, str]) -> bool:
        """Tells whether an alert with these labels counts as a ping of this heartbeat."""
        return bool(self.expect_alert) and matches_all(self.expect_alert, labels)

    @property
    def cursor(self) -> str:
        """Where the store keeps the time of the last ping (as a consumer cursor)."""
        return f"heartbeat:{self.name}"

    def alert_labels(self) -> dict[str, str]:
        """The labels of the alert that fires while the heartbeat is missing."""
        return {**self.labels, "alertname": HEARTBEAT_ALERTNAME, "heartbeat": self.name}
