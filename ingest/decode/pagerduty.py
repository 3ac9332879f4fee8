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

from core.errors import ItemProblem
from core.fingerprint import dedup_key_fingerprint
from core.model import Alert, AlertStatus
from ingest.decode import Decoded
from ingest.decode.fields import DEFAULT_LIMITS, AlertLimits, ItemChecker

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
_CEF_LABELS = ("source", "severity", "component", "group", "class")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024


def routing_key_of(body: Any) -> str | None:
    """Returns the event's routing key if it has a usable one."""
    if isinstance(body, dict):
        key = body.get("routing_key")
        if isinstance(key, str) and key:
            return key
    return None


def decode_pagerduty(
    body: Any, source: str, now: datetime, limits: AlertLimits = DEFAULT_LIMITS
) -> Decoded:
    """Decodes one event; problems name fields the way PagerDuty does (``payload.summary``)."""
    decoded = Decoded()
    if not isinstance(body, dict):
        decoded.problems.append(ItemProblem(None, "", "body must be a JSON object (one event)"))
        return decoded
    check = ItemChecker(None, decoded.problems, limits)
    action = body.get("event_action")
    if action not in ACTIONS:
        check.fail("event_action", f"must be one of {', '.join(ACTIONS)}")
        return decoded
    dedup_key = check.optional_string(body.get("dedup_key"), "dedup_key", max_length=MAX_DEDUP_KEY)
    if dedup_key is None:
        return decoded
    if action == "trigger":
        alert = _trigger(body, check, source, now, dedup_key or uuid.uuid4().hex)
        if alert is not None:
            decoded.alerts.append(alert)
        return decoded
    if not dedup_key:
        check.fail("dedup_key", f"is required to {action}")
        return decoded
    decoded.alerts.append(
        Alert(
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
    )
    return decoded


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
        text = details if isinstance(details, str) else orjson.dumps(details).decode()
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
