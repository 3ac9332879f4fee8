"""What a resolve keeps of the alert it ends: the start and annotations already known.

As Alertmanager merges a resolve into the alert it has, a resolve never moves an
alert's start later: a resolve whose start is later than the known firing start keeps
the earlier one, and so does one that carries no start of its own (the webhook and
``/api/v2/alerts`` then give it its end or its receipt, PagerDuty its receipt). A
resolve that carries no annotations (a PagerDuty resolve, a webhook resolve of only a
``dedup_key``, Tocsin's own heartbeat all-clear) keeps the annotations the alert had,
so that the incident still says what fired.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from sys import intern

from core.incident import IncidentAlert
from core.model import Alert, AlertStatus


def has_no_start(alert: Alert) -> bool:
    """Tells whether the sender gave no start: the decoders then use the receipt or the end.

    The same test as ingest's (``ingest.dedup``), which the correlator may not import.
    """
    return alert.starts_at == alert.received_at or alert.starts_at == alert.ends_at


def kept_start(known: IncidentAlert | None, alert: Alert) -> datetime:
    """The start the alert has after ``alert`` is applied over ``known``."""
    start = alert.starts_at
    if (
        alert.status is not AlertStatus.RESOLVED
        or known is None
        or known.starts_at is None
        or start <= known.starts_at
    ):
        return start
    # An alert its sender resolved before may begin an episode of its own with an
    # explicit later start; a start-less resolve has nothing to say about it.
    if known.status is AlertStatus.FIRING or known.expired or has_no_start(alert):
        return known.starts_at
    return start


def kept_annotations(known: IncidentAlert | None, alert: Alert) -> Mapping[str, str]:
    """The annotations the alert has after ``alert`` is applied over ``known``."""
    if alert.annotations or known is None or alert.status is not AlertStatus.RESOLVED:
        return alert.annotations
    return known.annotations


def kept_url(known: IncidentAlert, alert: Alert) -> str:
    """The generator URL the alert keeps: the known (interned) string while it is the same.

    A resend's URL is a new string each time; kept as it is, every alert would hold its
    own copy of what thousands of alerts share.
    """
    url = alert.generator_url
    return known.generator_url if url == known.generator_url else intern(url)
