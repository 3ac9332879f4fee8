"""Operator 403s and 409s are JSON objects that name what is at fault (report item 10).

A viewer key that tries to silence, or a responder key that reloads, gets a 403 whose
body says the key's role and the role needed (``required_role``) and names the header
(``field``); expiring an already-expired silence is a 409 naming ``ends_at``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.timestamps import format_rfc3339
from tests.app_harness import RESPONDER, START, VIEWER, Ingest

SILENCE = {
    "matchers": ['alertname="DiskFull"'],
    "ends_at": format_rfc3339(START + timedelta(hours=2)),
    "comment": "disk swap",
}


@pytest.mark.parametrize(
    ("method", "path", "headers", "role", "required"),
    [
        # A viewer key may read, not silence.
        ("POST", "/api/v1/silences", VIEWER, "viewer", "responder"),
        # Nor expire a silence (the role is checked before the id is looked up).
        ("DELETE", "/api/v1/silences/0123", VIEWER, "viewer", "responder"),
        # A responder key may not reload the rules.
        ("POST", "/-/reload", RESPONDER, "responder", "admin"),
    ],
)
async def test_a_403_is_an_object_naming_the_role_needed(
    ingest: Ingest, method: str, path: str, headers: dict[str, str], role: str, required: str
) -> None:
    response = await ingest.client.request(method, path, json=SILENCE, headers=headers)
    assert response.status == 403
    body = await response.json()
    assert isinstance(body, dict)
    assert body["code"] == 403
    assert f"this needs {required}" in body["error"]
    assert (body["field"], body["role"], body["required_role"]) == (
        "Authorization",
        role,
        required,
    )


async def test_expiring_an_expired_silence_is_a_409_naming_ends_at(ingest: Ingest) -> None:
    created = await ingest.client.post("/api/v1/silences", json=SILENCE, headers=RESPONDER)
    silence_id = (await created.json())["id"]
    first = await ingest.client.delete(f"/api/v1/silences/{silence_id}", headers=RESPONDER)
    assert first.status == 200
    again = await ingest.client.delete(f"/api/v1/silences/{silence_id}", headers=RESPONDER)
    assert again.status == 409
    body = await again.json()
    assert body["field"] == "ends_at"
    assert body["error"] == f"silence {silence_id} has already expired at {format_rfc3339(START)}"
