"""The ingest counters, registered on the registry the application passes in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class IngestMetrics:
    """Counts alerts by source as they are received, stored, deduplicated or rejected."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "tocsin_alerts_received_total",
            "Alerts received, valid or not.",
            ["source"],
            registry=registry,
        )
        self.accepted = Counter(
            "tocsin_alerts_accepted_total",
            "Valid alerts acknowledged to the sender (stored or recognised as unchanged).",
            ["source"],
            registry=registry,
        )
        self.stored = Counter(
            "tocsin_alerts_stored_total",
            "Alerts appended to the alert log.",
            ["source"],
            registry=registry,
        )
        self.deduplicated = Counter(
            "tocsin_alerts_deduplicated_total",
            "Unchanged duplicates recognised in memory and not written again.",
            ["source"],
            registry=registry,
        )
        self.rejected = Counter(
            "tocsin_alerts_rejected_total",
            "Alerts or requests refused, by reason (invalid, unauthenticated, rate_limited, "
            "too_large, timeout, disconnected, unsupported_media, store_unavailable).",
            ["source", "reason"],
            registry=registry,
        )
        self.remembered = Gauge(
            "tocsin_dedup_remembered_alerts",
            "Alerts whose last written version the duplicate filter remembers.",
            registry=registry,
        )
