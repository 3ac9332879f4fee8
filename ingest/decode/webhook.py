"""Tocsin's generic JSON webhook: one alert object, or a list of them.

::

    {"dedup_key": "backup-db1",            # optional; otherwise the labels identify the alert
     "summary": "Nightly backup failed",   # required (or annotations.summary)
     "severity": "critical",               # critical | error | warning | info; default warning
     "status": "firing",                   # firing | resolved; default firing
     "labels": {"service": "db"},          # optional strings; become routing labels
     "annotations": {"runbook": "..."},    # optional strings
     "starts_at": "2026-11-28T10:00:00Z",  # optional RFC 3339; default now
     "ends_at": null,                      # optional RFC 3339
     "source_url": "https://ci/job/42"}    # optional link back to the sender

Without ``dedup_key`` the fingerprint is Alertmanager's label fingerprint, so a
webhook sender and a Prometheus rule with the same labels name the same alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.fingerprint import cached_labels_fingerprint, dedup_key_fingerprint
from core.model import Alert, AlertStatus
from ingest.decode import BatchFormat, Decoded, Item, ProblemList, decode_body, envelope_error
from ingest.decode.fields import DEFAULT_LIMITS, AlertLimits, ItemChecker, not_an_object

SEVERITIES = ("critical", "error", "warning", "info")
_STATUSES = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}
_KEYS = {
    "dedup_key",
    "summary",
    "severity",
    "status",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "source_url",
}
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024


def decode_webhook(
    body: Any, source: str, now: datetime, limits: AlertLimits = DEFAULT_LIMITS
) -> Decoded:
    """Decodes a single alert object (problems without index) or a list (problems by index)."""
    return decode_body(WEBHOOK, body, source, now, limits)


def webhook_items(body: Any) -> list[Item]:
    """A lone object as one item without index, a list's items by index; else MalformedInput."""
    if isinstance(body, dict):
        return [(None, body)]
    if isinstance(body, list):
        return list(enumerate(body))
    raise envelope_error("", "body must be a JSON object or a list of them")


def decode_webhook_item(
    index: int | None,
    item: Any,
    problems: ProblemList,
    limits: AlertLimits,
    source: str,
    now: datetime,
) -> Alert | None:
    """Decodes one webhook alert; records its problems."""
    if not isinstance(item, dict):
        not_an_object(index, problems)
        return None
    return _decode_one(item, ItemChecker(index, problems, limits), source, now)


def _decode_one(
    item: dict[str, Any], check: ItemChecker, source: str, now: datetime
) -> Alert | None:
    failures = len(check.problems)
    for unknown in sorted(item.keys() - _KEYS):
        check.fail(unknown, "unknown field")
    dedup_key = check.optional_string(item.get("dedup_key"), "dedup_key", max_length=MAX_DEDUP_KEY)
    labels = check.string_map(item.get("labels"), "labels", label_names=True)
    annotations = check.string_map(item.get("annotations"), "annotations", label_names=False)
    summary = check.optional_string(item.get("summary"), "summary", max_length=MAX_SUMMARY)
    severity = item.get("severity", "warning")
    if severity not in SEVERITIES:
        check.fail("severity", f"must be one of {', '.join(SEVERITIES)}")
    status = _STATUSES.get(item.get("status", "firing"))
    if status is None:
        check.fail("status", 'must be "firing" or "resolved"')
    starts_ok, starts_at = check.timestamp(item.get("starts_at"), "starts_at")
    ends_ok, ends_at = check.timestamp(item.get("ends_at"), "ends_at")
    source_url = check.optional_string(item.get("source_url"), "source_url")
    if (
        starts_ok
        and ends_ok
        and starts_at
        and ends_at
        and check.before(ends_at, "ends_at", starts_at, "starts_at")
    ):
        check.fail("ends_at", "must not be before starts_at")
    if summary == "" and annotations is not None and not annotations.get("summary"):
        check.fail("summary", "is required (or annotations.summary)")
    if dedup_key == "" and labels is not None and not labels:
        check.fail("labels", "give dedup_key or at least one label to identify the alert")
    if None not in (labels, annotations, summary, dedup_key, source_url):
        check.alert_size(
            labels or {}, annotations or {}, summary or "", dedup_key or "", source_url or ""
        )
    if (
        len(check.problems) > failures
        or dedup_key is None
        or labels is None
        or annotations is None
        or summary is None
        or status is None
        or source_url is None
    ):
        return None
    labels = {**labels, "severity": severity}
    if summary:
        annotations = {**annotations, "summary": summary}
    fingerprint = (
        dedup_key_fingerprint(source, dedup_key) if dedup_key else cached_labels_fingerprint(labels)
    )
    # Defaults never make an alert end before it starts: a resolved alert without an end
    # ends now or at its (future) start; one without a start starts now or at its end.
    if starts_at is None:
        starts_at = now if ends_at is None else min(now, ends_at)
    if status is AlertStatus.RESOLVED and ends_at is None:
        ends_at = max(now, starts_at)
    return Alert(
        source=source,
        fingerprint=fingerprint,
        labels=labels,
        annotations=annotations,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        generator_url=source_url or "",
        received_at=now,
        dedup_key=dedup_key or None,
    )


WEBHOOK = BatchFormat(webhook_items, decode_webhook_item)
