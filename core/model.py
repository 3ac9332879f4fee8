"""The domain model shared by every stage; so far the Alert and its status."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from sys import intern

import msgspec
import orjson

from core.direct_init import direct_init
from core.timestamps import Memo, from_micros, micros


class AlertStatus(enum.StrEnum):
    """Whether the condition an alert reports still holds."""

    FIRING = "firing"
    RESOLVED = "resolved"


class SourceKind(enum.StrEnum):
    """The wire formats Tocsin accepts; each has one decoder in ``ingest``."""

    ALERTMANAGER = "alertmanager"  # Alertmanager webhook receiver, payload version 4
    ALERTMANAGER_API = "alertmanager_api"  # POST /api/v2/alerts, as Prometheus sends
    WEBHOOK = "webhook"  # Tocsin's generic JSON format
    PAGERDUTY = "pagerduty"  # PagerDuty Events API v2


# The statuses by their value: a dict lookup costs a fraction of AlertStatus(value).
_STATUSES: Mapping[str, AlertStatus] = {status.value: status for status in AlertStatus}


# The alerts of one request share received_at, and mostly starts_at and ends_at too,
# so reading the log back converts each distinct instant once, not three per alert.
_instant: Memo[int, datetime] = Memo(from_micros)


@dataclass(frozen=True, slots=True)
class Alert:
    """One report from a monitoring system about one condition, normalised.

    ``fingerprint`` identifies the condition across reports (Alertmanager's label
    fingerprint, or a hash of the dedup key); ``ends_at`` is None while nobody has said
    when the condition ends. ``acknowledged`` is set by a PagerDuty ``acknowledge``
    event, which keeps the alert firing but tells the pipeline a person took it.
    """

    source: str
    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    received_at: datetime
    dedup_key: str | None = None
    acknowledged: bool = False

    def to_json(self) -> bytes:
        """Serialises the alert for the alert log."""
        return orjson.dumps(
            {
                "source": self.source,
                "fingerprint": self.fingerprint,
                "labels": self.labels,
                "annotations": self.annotations,
                "status": self.status,  # a StrEnum: orjson writes its value
                "starts_at": micros(self.starts_at),
                "ends_at": None if self.ends_at is None else micros(self.ends_at),
                "generator_url": self.generator_url,
                "received_at": micros(self.received_at),
                "dedup_key": self.dedup_key,
                "acknowledged": self.acknowledged,
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Alert:
        """Reads back an alert that :meth:`to_json` wrote (ValueError if it cannot)."""
        raw = _LOGGED_ALERT.decode(data)
        ends = raw.ends_at
        status = raw.status
        # Built directly, in field order: the correlator reads every log entry back. Its
        # labels are interned only where an alert is kept (:func:`interned`): most entries
        # are resends of alerts already kept, and interning cost a fifth of this read.
        return new_alert(
            raw.source,
            raw.fingerprint,
            raw.labels,
            raw.annotations,
            _STATUSES.get(status) or AlertStatus(status),
            _instant[raw.starts_at],
            None if ends is None else _instant[ends],
            raw.generator_url,
            _instant[raw.received_at],
            raw.dedup_key,
            raw.acknowledged,
        )


class _LoggedAlert(msgspec.Struct, frozen=True, gc=False):
    """An alert as :meth:`Alert.to_json` writes it, decoded in one typed pass.

    The correlator reads every log entry back: decoding straight into typed fields takes
    about half the time of ``orjson.loads`` to a dict and reading the dict's keys.
    Untracked by the cyclic collector (``gc=False``): it holds strings, numbers and
    string maps only, so it is in no cycle, and a step's thousands of them need not
    be counted towards the next collection.
    """

    source: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    status: str
    starts_at: int
    ends_at: int | None
    generator_url: str
    received_at: int
    dedup_key: str | None
    acknowledged: bool


_LOGGED_ALERT = msgspec.json.Decoder(_LoggedAlert)


def interned(labels: Mapping[str, str]) -> dict[str, str]:
    """Returns ``labels`` with their values interned, for an alert that is kept.

    The correlator keeps each alert's labels as long as its incident is cached. Most
    values (alertname, job, severity, service) repeat across thousands of alerts:
    interned, they are held once, not once per alert. A plain dict (as the log's reader
    decodes each entry's) is interned in place and returned: its values stay equal, and
    a copy cost a quarter of a storm alert's interning; any other mapping is copied.
    """
    if type(labels) is not dict:
        return {name: intern(value) for name, value in labels.items()}
    for name, value in labels.items():
        labels[name] = intern(value)  # the same keys: no resize while iterating
    return labels


# Alert(...) with all its fields in order, built directly (see core.direct_init): the
# log's reader and the decoders of the busiest endpoints build one per alert.
new_alert: Callable[
    [
        str,
        str,
        Mapping[str, str],
        Mapping[str, str],
        AlertStatus,
        datetime,
        datetime | None,
        str,
        datetime,
        str | None,
        bool,
    ],
    Alert,
] = direct_init(Alert)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """An alert as it stands in the alert log, with its position there."""

    cursor: str
    alert: Alert


# LogEntry(cursor, alert), built directly: the stores build one per entry they read.
new_log_entry: Callable[[str, Alert], LogEntry] = direct_init(LogEntry)
