"""Item 24 (ingest): only Go's zero time is "absent", and no alert ends before it starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.model import AlertStatus
from core.timestamps import parse_rfc3339
from tests.app_harness import AM_AUTH, HOOK_AUTH, PROM_AUTH, START, Ingest
from tests.ingest.payloads import webhook


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Go's zero time.Time, as Alertmanager writes it, and the same instant written otherwise.
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00.000000000Z", None),
        ("0001-01-01T00:00:00+00:00", None),
        # Other year-1 instants are instants: the old parser called them all absent.
        ("0001-01-01T00:00:01Z", datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("0001-06-15T12:00:00Z", datetime(1, 6, 15, 12, tzinfo=UTC)),
    ],
)
def test_only_the_zero_instant_is_absent(text: str, expected: datetime | None) -> None:
    assert parse_rfc3339(text) == expected


async def test_a_year_one_end_is_an_end_not_an_open_end(ingest: Ingest) -> None:
    # Before: endsAt 0001-06-15 read as "no end", so this alert was stored firing forever.
    alert = {"labels": {"alertname": "A"}, "startsAt": "0001-06-01T00:00:00Z",
             "endsAt": "0001-06-15T00:00:00Z"}  # fmt: skip
    response = await ingest.client.post("/api/v2/alerts", json=[alert], headers=PROM_AUTH)
    assert response.status == 200
    [stored] = await ingest.stored()
    assert stored.status is AlertStatus.RESOLVED
    assert stored.ends_at == datetime(1, 6, 15, tzinfo=UTC)


async def test_alertmanager_resolved_alert_ending_before_its_start_is_400(ingest: Ingest) -> None:
    def alert(name: str, ends: str) -> dict[str, object]:
        return {"status": "resolved", "labels": {"alertname": name},
                "startsAt": "2026-11-27T15:09:11Z", "endsAt": ends}  # fmt: skip

    body = webhook([alert("Ok", "2026-11-27T15:10:00Z"), alert("Bad", "2026-11-27T15:00:00Z")])
    response = await ingest.client.post("/ingest/alertmanager", json=body, headers=AM_AUTH)
    assert response.status == 400
    [problem] = (await response.json())["problems"]
    assert (problem["index"], problem["field"]) == (1, "endsAt")
    [stored] = await ingest.stored()
    assert stored.labels["alertname"] == "Ok"


async def test_webhook_defaults_never_end_an_alert_before_it_starts(ingest: Ingest) -> None:
    later = START + timedelta(hours=1)
    items = [
        # Resolved without an end, starting in the future: it ends at its start, not now.
        {"summary": "s", "labels": {"alertname": "Future"}, "status": "resolved",
         "starts_at": later.isoformat()},
        # An end in the past and no start: it starts at its end, not now.
        {"summary": "s", "labels": {"alertname": "Past"},
         "ends_at": (START - timedelta(hours=1)).isoformat()},
    ]  # fmt: skip
    response = await ingest.client.post("/ingest/webhook", json=items, headers=HOOK_AUTH)
    assert response.status == 200
    for alert in await ingest.stored():
        assert alert.ends_at is not None
        assert alert.ends_at >= alert.starts_at, alert


async def test_webhook_explicit_end_before_start_is_400(ingest: Ingest) -> None:
    item = {"summary": "s", "labels": {"alertname": "A"}, "starts_at": START.isoformat(),
            "ends_at": (START - timedelta(seconds=1)).isoformat()}  # fmt: skip
    response = await ingest.client.post("/ingest/webhook", json=[item], headers=HOOK_AUTH)
    assert response.status == 400
    assert (await response.json())["problems"][0]["field"] == "ends_at"
