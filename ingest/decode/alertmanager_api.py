"""``POST /api/v2/alerts`` as Alertmanager's own API takes it, so Prometheus can send to Tocsin.

Defaults follow Alertmanager 0.25's ``postAlertsHandler`` (api/v2/api.go): a missing
``startsAt`` becomes ``endsAt`` or now; a missing ``endsAt`` becomes now plus
:data:`RESOLVE_TIMEOUT` (its ``global.resolve_timeout``), so an alert posted once, as
``amtool alert add`` or a hand-written curl does, resolves by itself unless it is sent
again before then. Each resend moves the end on (the latest end a sender gave counts,
``core.store.AlertEnds``); Prometheus always sends an ``endsAt`` of its own. An alert
whose ``endsAt`` is not after now is resolved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.fingerprint import cached_labels_fingerprint
from core.model import Alert, AlertStatus, new_alert
from ingest.decode import BatchFormat, Decoded, Item, ProblemList, decode_body, envelope_error
from ingest.decode.fields import DEFAULT_LIMITS, AlertLimits, ItemChecker, not_an_object

# Alertmanager's default ``global.resolve_timeout`` (config/config.go): how long an alert
# posted without ``endsAt`` stays firing unless it is sent again.
RESOLVE_TIMEOUT = timedelta(minutes=5)


def decode_alertmanager_api(
    body: Any,
    source: str,
    now: datetime,
    limits: AlertLimits = DEFAULT_LIMITS,
) -> Decoded:
    """Decodes a JSON list of postable alerts (no ``endsAt``: now + RESOLVE_TIMEOUT)."""
    return decode_body(ALERTMANAGER_API, body, source, now, limits)


def postable_alert_items(body: Any) -> list[Item]:
    """The alerts of the list, indexed; raises MalformedInput if the body is not a list."""
    if not isinstance(body, list):
        raise envelope_error("", "body must be a JSON list of alerts")
    return list(enumerate(body))


def decode_postable_alert(
    index: int | None,
    item: Any,
    problems: ProblemList,
    limits: AlertLimits,
    source: str,
    now: datetime,
) -> Alert | None:
    """Decodes one postable alert; records its problems."""
    if not isinstance(item, dict):
        not_an_object(index, problems)
        return None
    return _decode_one(item, ItemChecker(index, problems, limits), source, now, RESOLVE_TIMEOUT)


def _decode_one(
    item: dict[str, Any],
    check: ItemChecker,
    source: str,
    now: datetime,
    resolve_timeout: timedelta,
) -> Alert | None:
    failures = len(check.problems)
    labels = check.string_map(item.get("labels"), "labels", label_names=True)
    if labels is not None and not labels:
        check.fail("labels", "at least one label pair required")
    annotations = check.string_map(item.get("annotations"), "annotations", label_names=True)
    starts_ok, starts_at = check.timestamp(item.get("startsAt"), "startsAt")
    ends_ok, ends_at = check.timestamp(item.get("endsAt"), "endsAt")
    generator_url = check.optional_string(item.get("generatorURL"), "generatorURL")
    if (
        starts_ok
        and ends_ok
        and starts_at is not None
        and ends_at is not None
        # Compared inline while they differ, as nearly always: a call per alert less.
        and (
            ends_at < starts_at
            if ends_at != starts_at
            else check.before(ends_at, "endsAt", starts_at, "startsAt")
        )
    ):
        check.fail("endsAt", "must not be before startsAt")
    if labels is not None and annotations is not None and generator_url is not None:
        check.alert_size(labels, annotations, generator_url)
    if (
        len(check.problems) > failures
        or labels is None
        or annotations is None
        or generator_url is None
    ):
        return None
    if starts_at is None:
        starts_at = ends_at if ends_at is not None else now
    if ends_at is None:
        ends_at = now + resolve_timeout
    # Built directly, in field order (core.direct_init): Prometheus' every alert comes here.
    return new_alert(
        source,
        cached_labels_fingerprint(labels),
        labels,
        annotations,
        AlertStatus.RESOLVED if ends_at <= now else AlertStatus.FIRING,
        starts_at,
        ends_at,
        generator_url,
        now,  # received
        None,  # no dedup key
        False,  # not acknowledged
    )


ALERTMANAGER_API = BatchFormat(postable_alert_items, decode_postable_alert)
