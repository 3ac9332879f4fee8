"""The PagerDuty Events API v2 (``POST /v2/enqueue``): trigger, acknowledge, resolve.

The ``routing_key`` in the body names the source (PagerDuty's integration key). A
trigger without ``dedup_key`` gets a generated one, returned to the sender, so it can
acknowledge or resolve the alert later. PD-CEF fields become labels; ``summary`` and
``custom_details`` become annotations.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from core.fingerprint import dedup_key_fingerprint
from core.model import Alert, AlertStatus
from ingest.decode import BatchFormat, Decoded, Item, ProblemList, decode_body, envelope_error
from ingest.decode.fields import DEFAULT_LIMITS, AlertLimits, ItemChecker

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
_CEF_LABELS = ("source", "severity", "component", "group", "class")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024


def routing_key_of(body: Any) -> str:
    """Returns the event's routing key; raises MalformedInput naming what is wrong.

    A body that is not an object, or a key that is not a non-empty string, is a 400
    naming the body or ``routing_key``; only a well-formed key no source owns is a 401.
    """
    if not isinstance(body, dict):
        raise envelope_error("", "body must be a JSON object (one event)")
    key = body.get("routing_key")
    if not isinstance(key, str) or not key:
        raise envelope_error("routing_key", "is required and must be a non-empty string")
    return key


def pagerduty_items(body: Any) -> list[Item]:
    """The one event of a body, without index; raises MalformedInput if it is not an object."""
    if not isinstance(body, dict):
        raise envelope_error("", "body must be a JSON object (one event)")
    return [(None, body)]


def decode_pagerduty(
    body: Any, source: str, now: datetime, limits: AlertLimits = DEFAULT_LIMITS
) -> Decoded:
    """Decodes one event; problems name fields the way PagerDuty does (``payload.summary``)."""
    return decode_body(PAGERDUTY, body, source, now, limits)


def decode_pagerduty_event(
    index: int | None,
    body: Any,
    problems: ProblemList,
    limits: AlertLimits,
    source: str,
    now: datetime,
) -> Alert | None:
    """Decodes one event; records its problems."""
    check = ItemChecker(index, problems, limits)
    action = body.get("event_action")
    if action not in ACTIONS:
        check.fail("event_action", f"must be one of {', '.join(ACTIONS)}")
        return None
    dedup_key = check.optional_string(body.get("dedup_key"), "dedup_key", max_length=MAX_DEDUP_KEY)
    if dedup_key is None:
        return None
    if action == "trigger":
        return _trigger(body, check, source, now, dedup_key or uuid.uuid4().hex)
    if not dedup_key:
        check.fail("dedup_key", f"is required to {action}")
        return None
    return Alert(
        source=source,
        fingerprint=dedup_key_fingerprint(source, dedup_key),
        labels={},
        annotations={},
        status=AlertStatus.RESOLVED if action == "resolve" else AlertStatus.FIRING,
        starts_at=now,
        ends_at=now if action == "resolve" else None,
        generator_url="",
        received_at=now,
        dedup_key=dedup_key,
        acknowledged=action == "acknowledge",
    )


def _trigger(
    body: dict[str, Any], check: ItemChecker, source: str, now: datetime, dedup_key: str
) -> Alert | None:
    payload = body.get("payload")
    if not isinstance(payload, dict):
        check.fail("payload", "is required for a trigger and must be an object")
        return None
    failures = len(check.problems)
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        check.fail("payload.summary", "is missing or blank")
    elif len(summary) > MAX_SUMMARY:
        check.fail("payload.summary", f"longer than {MAX_SUMMARY} characters")
    pd_source = payload.get("source")
    if not isinstance(pd_source, str) or not pd_source.strip():
        check.fail("payload.source", "is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        check.fail("payload.severity", f"must be one of {', '.join(SEVERITIES)}")
    for name in ("component", "group", "class"):
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            check.fail(f"payload.{name}", "must be a string")
    for name in _CEF_LABELS:  # they become labels
        value = payload.get(name)
        if isinstance(value, str):
            check.within_limit(f"payload.{name}", value, check.limits.label_value)
    ok, timestamp = check.timestamp(payload.get("timestamp"), "payload.timestamp")
    details = payload.get("custom_details")
    client_url = check.optional_string(body.get("client_url"), "client_url")
    if len(check.problems) > failures or not ok or client_url is None:
        return None
    labels = {name: payload[name] for name in _CEF_LABELS if isinstance(payload.get(name), str)}
    annotations = {"summary": summary}
    if details is not None:
        text = details if isinstance(details, str) else _details_text(details, check)
        if text is None:
            return None
        if not check.within_limit("payload.custom_details", text, check.limits.annotation_value):
            return None
        annotations["details"] = text
    # These maps were not built by check.string_map: count their characters here.
    check.characters += sum(len(k) + len(v) for k, v in (*labels.items(), *annotations.items()))
    if not check.alert_size(labels, annotations, client_url, dedup_key):  # type: ignore[arg-type]
        return None
    return Alert(
        source=source,
        fingerprint=dedup_key_fingerprint(source, dedup_key),
        labels=labels,
        annotations=annotations,  # type: ignore[arg-type]
        status=AlertStatus.FIRING,
        starts_at=timestamp or now,
        ends_at=None,
        generator_url=client_url,
        received_at=now,
        dedup_key=dedup_key,
    )


def _details_text(details: Any, check: ItemChecker) -> str | None:
    # Re-encoded for the annotation. orjson writes at most 255 levels (it reads 1024), so
    # deeper details are the sender's mistake to name, not a 500.
    try:
        return orjson.dumps(details).decode()
    except orjson.JSONEncodeError:
        check.fail("payload.custom_details", "is nested too deeply (at most 254 levels)")
        return None


PAGERDUTY = BatchFormat(pagerduty_items, decode_pagerduty_event)
