"""The Alertmanager webhook receiver payload, ``"version": "4"``.

Every alert of the group arrives each time (firing ones and not-yet-notified resolved
ones), so most of them are duplicates the dedup filter drops. A firing alert carries
Go's zero time as ``endsAt``; a resolved one its real end. Unknown envelope keys (newer
Alertmanagers add ``notification_reason``, ``routeLabels``) are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.fingerprint import cached_labels_fingerprint
from core.model import Alert, AlertStatus
from ingest.decode import BatchFormat, Decoded, Item, ProblemList, decode_body, envelope_error
from ingest.decode.fields import DEFAULT_LIMITS, AlertLimits, ItemChecker, not_an_object

_STATUSES = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}


def decode_alertmanager_webhook(
    body: Any, source: str, now: datetime, limits: AlertLimits = DEFAULT_LIMITS
) -> Decoded:
    """Decodes one webhook message; problems name the index in ``alerts``."""
    return decode_body(ALERTMANAGER_WEBHOOK, body, source, now, limits)


def webhook_message_items(body: Any) -> list[Item]:
    """The alerts of a webhook message, indexed; raises MalformedInput for a wrong envelope."""
    if not isinstance(body, dict):
        raise envelope_error("", "body must be a JSON object (webhook version 4)")
    version = body.get("version")
    if version is not None and version != "4":
        raise envelope_error("version", f'unsupported version {version!r}: expected "4"')
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise envelope_error("alerts", "must be a list")
    return list(enumerate(alerts))


def decode_webhook_message_item(
    index: int | None,
    item: Any,
    problems: ProblemList,
    limits: AlertLimits,
    source: str,
    now: datetime,
) -> Alert | None:
    """Decodes one alert of a webhook message; records its problems."""
    if not isinstance(item, dict):
        not_an_object(index, problems)
        return None
    return _decode_one(item, ItemChecker(index, problems, limits), source, now)


def _decode_one(
    item: dict[str, Any], check: ItemChecker, source: str, now: datetime
) -> Alert | None:
    failures = len(check.problems)
    status = _STATUSES.get(item.get("status"))  # type: ignore[arg-type]
    if status is None:
        check.fail("status", 'must be "firing" or "resolved"')
    labels = check.string_map(item.get("labels"), "labels", label_names=True)
    if labels is not None and not labels:
        check.fail("labels", "at least one label pair required")
    annotations = check.string_map(item.get("annotations"), "annotations", label_names=False)
    starts_ok, starts_at = check.timestamp(item.get("startsAt"), "startsAt")
    ends_ok, ends_at = check.timestamp(item.get("endsAt"), "endsAt")
    generator_url = check.optional_string(item.get("generatorURL"), "generatorURL")
    if starts_ok and starts_at is None:
        check.fail("startsAt", "is required")
    if status is AlertStatus.RESOLVED and ends_ok and ends_at is None:
        check.fail("endsAt", "a resolved alert needs its end time")
    if (
        starts_at is not None
        and ends_at is not None
        and check.before(ends_at, "endsAt", starts_at, "startsAt")
    ):
        # As Alertmanager's own validation: an alert cannot end before it started.
        check.fail("endsAt", "must not be before startsAt")
    if labels is not None and annotations is not None and generator_url is not None:
        check.alert_size(labels, annotations, generator_url)
    if (
        len(check.problems) > failures
        or status is None
        or labels is None
        or annotations is None
        or generator_url is None
        or starts_at is None
    ):
        return None
    return Alert(
        source=source,
        fingerprint=cached_labels_fingerprint(labels),
        labels=labels,
        annotations=annotations,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        generator_url=generator_url,
        received_at=now,
    )


ALERTMANAGER_WEBHOOK = BatchFormat(webhook_message_items, decode_webhook_message_item)
