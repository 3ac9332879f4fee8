"""What one ingest request may cost: body size, its time, its number of alerts, their sizes."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from ingest.decode.fields import AlertLimits

# PagerDuty's own limit for an Events API v2 request. The credential of /v2/enqueue is in
# the body, so a stranger's body is read before anything can refuse it: keep it small.
PAGERDUTY_MAX_BODY_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """The limits every ingest endpoint applies, from the process settings."""

    max_body_bytes: int
    body_timeout_seconds: float
    alert: AlertLimits
    # Items (alerts) one request may carry; counted before any is decoded.
    max_alerts: int = 50_000

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        """Takes the body and alert limits of ``settings``."""
        return cls(
            max_body_bytes=settings.max_body_bytes,
            body_timeout_seconds=settings.body_timeout_seconds,
            max_alerts=settings.max_alerts_per_request,
            alert=AlertLimits(
                label_name=settings.max_label_name_bytes,
                label_value=settings.max_label_value_bytes,
                annotation_value=settings.max_annotation_value_bytes,
                alert=settings.max_alert_bytes,
            ),
        )

    @property
    def pagerduty_body_bytes(self) -> int:
        """The body limit of ``/v2/enqueue``: PagerDuty's, unless the general one is smaller."""
        return min(self.max_body_bytes, PAGERDUTY_MAX_BODY_BYTES)
