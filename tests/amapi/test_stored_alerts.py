"""Stored alert documents read as far as the API shows them, and rendered from their text."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import orjson
import pytest

from core.codec import encode_alert, encode_alert_batch
from core.incident import IncidentAlert
from core.timestamps import format_rfc3339
from rules.model import Rules
from tests.contract.builders import T0, make_incident
from tocsin.amapi.alert_columns import render_columns
from tocsin.amapi.alert_view import NO_END, AlertRenderer
from tocsin.amapi.stored_alerts import StoredAlert, decode_labels, stored_batches

RENDERER = AlertRenderer(Rules(sources=()))
[ALERT] = make_incident(1).alerts.values()
# Labels and annotations that JSON must escape, copied into the answer as stored.
HOSTILE = {"alertname": 'Up"}],"x":{"', "path": "C:\\temp\\", "note": "</script>\u2028é"}


def read(*bodies: bytes) -> list[StoredAlert]:
    return [document for batch in stored_batches(bodies) for document in batch]


def shown(alert: IncidentAlert) -> dict[str, Any]:
    """The alert rendered from its stored document, with receiver ``team``, decoded."""
    [document] = read(encode_alert(alert))
    [body] = RENDERER.render_batch([document], ("team",))
    parsed: dict[str, Any] = orjson.loads(body)
    return parsed


def test_a_rendered_alert_shows_its_stored_fields() -> None:
    alert = replace(ALERT, labels=HOSTILE, annotations=HOSTILE, ends_at=T0 + timedelta(hours=1))

    assert shown(alert) == {
        "labels": HOSTILE,
        "annotations": HOSTILE,
        "fingerprint": alert.fingerprint,
        "startsAt": format_rfc3339(alert.starts_at or T0),
        "updatedAt": format_rfc3339(alert.last_received_at or T0),
        "endsAt": format_rfc3339(T0 + timedelta(hours=1)),
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "generatorURL": alert.generator_url,
        "receivers": [{"name": "team"}],
    }


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        # Alertmanager leaves out an empty generatorURL.
        ({"generator_url": ""}, "generatorURL", None),
        # No end: Go's zero time (resolve_timeout 0).
        ({"ends_at": None}, "endsAt", NO_END),
        # No source start (stored before it was kept): the first receipt.
        ({"starts_at": None}, "startsAt", format_rfc3339(ALERT.first_received_at or T0)),
        # Nor that: when the correlator first applied it.
        (
            {"starts_at": None, "first_received_at": None},
            "startsAt",
            format_rfc3339(ALERT.first_seen),
        ),
        # Never received (a synthetic alert): updated when last applied.
        ({"last_received_at": None}, "updatedAt", format_rfc3339(ALERT.last_seen)),
        # A recorded mute reason is read back as Alertmanager's status.
        (
            {"muted_by": "inhibited by db-down (firing alert 00000000000000ff)"},
            "status",
            {"state": "suppressed", "silencedBy": [], "inhibitedBy": ["00000000000000ff"]},
        ),
    ],
)
def test_fields_the_document_lacks(changes: dict[str, Any], field: str, expected: object) -> None:
    assert shown(replace(ALERT, **changes)).get(field) == expected


def test_bodies_of_one_document_and_batches_read_in_order() -> None:
    alerts = [replace(ALERT, fingerprint=f"{n:016x}") for n in range(5)]
    bodies = [encode_alert(alerts[0]), encode_alert_batch(alerts[1:3]), encode_alert(alerts[3])]
    bodies.append(encode_alert(alerts[4]))

    batches = list(stored_batches(bodies, gather=1))

    assert [[d.fingerprint for d in b] for b in batches] == [
        [alerts[0].fingerprint],
        [alerts[1].fingerprint, alerts[2].fingerprint],
        [alerts[3].fingerprint],
        [alerts[4].fingerprint],
    ]


def test_held_labels_are_copies_of_their_text_decoded_on_demand() -> None:
    body = encode_alert_batch([replace(ALERT, labels=HOSTILE)])
    columns = render_columns(RENDERER, ("team",), stored_batches([body]), None)

    # bytes, not a msgspec.Raw: a Raw points into the stored body and keeps it alive.
    assert type(columns.labels[0]) is bytes
    assert not columns.decoded
    assert columns.label_sets() == [HOSTILE]
    assert columns.decoded
    assert decode_labels(columns.labels[0]) == HOSTILE
