"""The correlator's metrics, on the registry the application passes in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class CorrelatorMetrics:
    """Entries correlated, incidents opened, conflicts retried, how far behind the log it is."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.entries = Counter(
            "tocsin_correlator_entries_total", "Alert log entries correlated.", registry=registry
        )
        self.opened = Counter(
            "tocsin_incidents_opened_total", "Incidents opened by correlation.", registry=registry
        )
        self.conflicts = Counter(
            "tocsin_correlator_conflicts_total",
            "Steps retried because another writer changed an incident first.",
            registry=registry,
        )
        self.late_copies = Counter(
            "tocsin_correlator_late_copies_total",
            "Late copies dropped, by status: a firing copy of an alert its sender already "
            "resolved (same startsAt), or a resolve of an earlier episode (older startsAt).",
            ["status"],
            registry=registry,
        )
        self.cached_alerts = Gauge(
            "tocsin_correlator_cached_alerts",
            "Alerts held in memory with the incidents the correlator used last "
            "(bounded by --correlator-cache-alerts but for those of its last two steps).",
            registry=registry,
        )
        self.lag = Gauge(
            "tocsin_correlator_lag_seconds",
            "Age of the newest alert log entry correlated in the last step.",
            registry=registry,
        )
