"""An incident version's alerts as rendered columns, and every open alert once from them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from core.incident import Incident
from rules.model import Rules
from tests.contract.builders import make_incident
from tocsin.amapi.alert_columns import HeldIncident, render_columns
from tocsin.amapi.alert_list import merge_alerts
from tocsin.amapi.alert_view import AlertRenderer
from tocsin.amapi.stored_alerts import StoredAlert, stored_batches

RENDERER = AlertRenderer(Rules(sources=()))
INCIDENT: Incident = make_incident(1)


def document(fingerprint: str, status: str = "firing", position: str = "1") -> StoredAlert:
    """An alert document as the stores keep it (``core.codec.encode_alert``), as read."""
    [[read]] = stored_batches([orjson.dumps(_stored(fingerprint, status, position))])
    return read


def _stored(fingerprint: str, status: str, position: str) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "labels": {"alertname": "Up", "instance": fingerprint},
        "status": status,
        "first_seen": 1_700_000_000_000_000,
        "last_seen": 1_700_000_000_000_000 + int(position),
        "position": position,
        "ends_at": None,
        "muted_by": None,
        "annotations": {},
        "generator_url": "",
        "starts_at": None,
        "first_received_at": None,
        "last_received_at": None,
    }


@pytest.mark.parametrize(
    ("batches", "shown"),
    [
        # Rendered by fingerprint, whatever the stored order.
        ([[document("b"), document("a")]], ["a", "b"]),
        # A later document resolving an alert hides it.
        ([[document("a"), document("b"), document("a", "resolved", "2")]], ["b"]),
        # So does one in a later batch.
        ([[document("a"), document("b")], [document("a", "resolved", "2")]], ["b"]),
        # Firing again after that shows it again, as its last document says.
        ([[document("a"), document("a", "resolved", "2"), document("a", position="3")]], ["a"]),
        # A later batch's copy replaces the earlier one.
        ([[document("a")], [document("a", position="3")]], ["a"]),
        # Resolved only: nothing to show.
        ([[document("a", "resolved")]], []),
    ],
)
def test_the_last_document_of_each_alert_counts(
    batches: list[list[StoredAlert]], shown: list[str]
) -> None:
    columns = render_columns(RENDERER, ("team",), batches, None)
    assert columns.fingerprints == shown
    rendered = [orjson.loads(b) for b in columns.bodies]
    assert [a["fingerprint"] for a in rendered] == shown
    assert all(a["receivers"] == [{"name": "team"}] for a in rendered)
    if shown == ["a"]:
        assert rendered[0]["updatedAt"] == "2023-11-14T22:13:20.000003Z"


def test_unchanged_alerts_of_the_previous_version_are_not_rendered_again() -> None:
    prior = render_columns(RENDERER, ("team",), [[document("a"), document("b")]], None)
    again = [document("a"), document("b", position="2"), document("c")]

    columns = render_columns(RENDERER, ("team",), [again], prior)

    assert columns.fingerprints == ["a", "b", "c"]
    assert columns.bodies[0] is prior.bodies[0]  # the same object: kept
    assert columns.bodies[1] is not prior.bodies[1]  # a report moved it: rendered again


def test_an_alert_of_two_incidents_is_shown_once_with_both_receivers() -> None:
    newer = render_columns(RENDERER, ("db-oncall",), [[document("a"), document("b")]], None)
    older = render_columns(RENDERER, ("dashboards",), [[document("b", position="0")]], None)
    incidents = [
        HeldIncident(INCIDENT, "db-oncall", newer),
        HeldIncident(INCIDENT, "dashboards", older),
    ]

    merged = merge_alerts(RENDERER, incidents)

    shown = [orjson.loads(b) for b in merged.bodies]
    assert [a["fingerprint"] for a in shown] == ["a", "b"]
    assert shown[1]["receivers"] == [{"name": "db-oncall"}, {"name": "dashboards"}]
    assert merged.receivers == [("db-oncall",), ("db-oncall", "dashboards")]
    assert merged.shared == {"b": ("db-oncall", "dashboards")}
