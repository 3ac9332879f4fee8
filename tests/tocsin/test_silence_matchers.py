"""Silence matchers at the operator API have Go's RE2 semantics (issue 9, item 12)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.store import IncidentQuery
from core.timestamps import format_rfc3339
from tests.app_harness import AM_AUTH, RESPONDER, START, Ingest
from tests.ingest.payloads import A1_FIRING, webhook
from tests.support import poll_until
from tocsin.keys import STORE

ENDS = format_rfc3339(START + timedelta(hours=2))


async def test_a_catastrophic_regex_silence_does_not_stall_correlation(ingest: Ingest) -> None:
    # The attack from the issue: with backtracking, (a+)+b against 40 a's runs for hours
    # and every later alert waits behind it. RE2 answers at once, so the incident opens.
    silence = {"matchers": ['instance=~"(a+)+b"'], "ends_at": ENDS, "comment": "attack"}
    created = await ingest.client.post("/api/v1/silences", json=silence, headers=RESPONDER)
    assert created.status == 201
    alert = {**A1_FIRING["alerts"][0], "labels": {"alertname": "Slow", "instance": "a" * 40}}
    posted = await ingest.client.post(
        "/ingest/alertmanager", json=webhook([alert]), headers=AM_AUTH
    )
    assert posted.status == 200
    store = ingest.client.app[STORE]

    async def opened() -> bool | None:
        incidents = await store.list_incidents(IncidentQuery())
        return True if any("Slow" in i.group_key for i in incidents) else None

    await poll_until(opened, deadline_seconds=10, interval=0.02)
    [incident] = await store.list_incidents(IncidentQuery())
    assert not incident.muted


@pytest.mark.parametrize(
    ("matchers", "field", "reason"),
    [
        # Lookahead needs backtracking; Alertmanager (Go) refuses it too.
        (['alertname="X"', 'instance=~"(?=db)db1"'], "matchers[1]", "invalid perl operator"),
        # A backreference, likewise.
        (['instance=~"(a)\\\\1"'], "matchers[0]", "invalid escape"),
    ],
)
async def test_a_pattern_re2_cannot_compile_is_a_400_naming_the_matcher(
    ingest: Ingest, matchers: list[str], field: str, reason: str
) -> None:
    silence = {"matchers": matchers, "ends_at": ENDS, "comment": "bad pattern"}
    response = await ingest.client.post("/api/v1/silences", json=silence, headers=RESPONDER)
    assert response.status == 400
    [problem] = (await response.json())["problems"]
    assert problem["field"] == field
    assert "is not a valid regular expression" in problem["reason"]
    assert reason in problem["reason"]
    assert await ingest.client.app[STORE].list_silences() == []


@pytest.mark.parametrize(
    "matchers",
    [
        ['team=""'],  # every alert without a team label: all of them, as sent
        ['team=""', 'region!="eu"'],
        ['alertname=~".*"'],
        ['team!~"x"'],
    ],
)
async def test_a_silence_that_would_mute_every_alert_is_a_400(
    ingest: Ingest, matchers: list[str]
) -> None:
    # Alertmanager's rule: at least one matcher must not match the empty string.
    silence = {"matchers": matchers, "ends_at": ENDS, "comment": "too broad"}
    response = await ingest.client.post("/api/v1/silences", json=silence, headers=RESPONDER)
    assert response.status == 400
    [problem] = (await response.json())["problems"]
    assert problem == {
        "field": "matchers",
        "reason": "at least one matcher must not match the empty string",
    }
    assert await ingest.client.app[STORE].list_silences() == []


async def test_an_empty_value_beside_one_that_selects_is_accepted(ingest: Ingest) -> None:
    silence = {"matchers": ['team=""', 'alertname="X"'], "ends_at": ENDS, "comment": "ok"}
    response = await ingest.client.post("/api/v1/silences", json=silence, headers=RESPONDER)
    assert response.status == 201
