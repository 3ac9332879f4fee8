"""Issue 9 items 4 and 10: Content-Encoding is decoded by Tocsin, or refused with JSON.

Only identity, gzip and deflate, alone or listed (undone last first, RFC 9110 8.4), are
taken; br, zstd or anything else is a JSON 415 naming ``Content-Encoding`` on every path,
with no traceback in the log. Before, aiohttp answered br with a plain-text 400 and a
traceback, and ignored a list, parsing compressed bytes as JSON.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import pytest

from core.timestamps import format_rfc3339
from tests.app_harness import ADMIN, AM_AUTH, HOOK_AUTH, RESPONDER, START, Ingest

ALERT = {"summary": "backup failed", "labels": {"alertname": "Backup"}}
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, br", "x-unknown"])
async def test_an_unsupported_coding_is_a_json_415_without_traceback(
    ingest: Ingest, caplog: pytest.LogCaptureFixture, coding: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for path, headers in [
        ("/ingest/webhook", HOOK_AUTH),
        ("/ingest/alertmanager", AM_AUTH),
        ("/api/v1/silences", ADMIN),
        ("/no/such/path", {}),
    ]:
        response = await ingest.client.post(
            path, data=b"\x00garbage", headers={**headers, **JSON, "Content-Encoding": coding}
        )
        assert response.status == 415, path
        answer = await response.json()
        assert answer["field"] == "Content-Encoding"
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert await ingest.stored() == []


async def test_an_unsupported_coding_on_a_read_is_refused_too(ingest: Ingest) -> None:
    response = await ingest.client.get(
        "/api/v1/incidents", headers={**ADMIN, "Content-Encoding": "br"}
    )
    assert response.status == 415
    assert (await response.json())["field"] == "Content-Encoding"


@pytest.mark.parametrize(
    ("header", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("identity", lambda b: b),
        ("deflate, gzip", lambda b: gzip.compress(zlib.compress(b))),
        ("gzip,deflate", lambda b: zlib.compress(gzip.compress(b))),
        ("gzip, identity", gzip.compress),
    ],
)
async def test_supported_codings_and_lists_are_decoded_in_order(
    ingest: Ingest, header: str, encode: object
) -> None:
    assert callable(encode)
    body = encode(json.dumps(ALERT).encode())
    response = await ingest.client.post(
        "/ingest/webhook", data=body, headers={**HOOK_AUTH, **JSON, "Content-Encoding": header}
    )
    assert response.status == 200, await response.text()
    assert [a.labels["alertname"] for a in await ingest.stored()] == ["Backup"]


async def test_a_list_in_the_wrong_order_is_a_400_naming_content_encoding(ingest: Ingest) -> None:
    body = gzip.compress(zlib.compress(json.dumps(ALERT).encode()))
    response = await ingest.client.post(
        "/ingest/webhook",
        data=body,
        headers={**HOOK_AUTH, **JSON, "Content-Encoding": "gzip, deflate"},
    )
    assert response.status == 400
    assert (await response.json())["problems"][0]["field"] == "Content-Encoding"


async def test_a_gzip_bomb_is_stopped_at_the_body_limit(ingest: Ingest) -> None:
    # 10 MB of spaces around a valid alert; the harness allows 64 KiB.
    body = gzip.compress(b" " * 10_000_000 + json.dumps(ALERT).encode())
    response = await ingest.client.post(
        "/ingest/webhook", data=body, headers={**HOOK_AUTH, **JSON, "Content-Encoding": "gzip"}
    )
    assert response.status == 413
    assert (await response.json())["field"] == "body"


async def test_the_operator_api_still_takes_a_gzip_body(ingest: Ingest) -> None:
    silence = {
        "matchers": ['alertname="DiskFull"'],
        "ends_at": format_rfc3339(START.replace(hour=START.hour + 2)),
        "comment": "disk swap",
    }
    response = await ingest.client.post(
        "/api/v1/silences",
        data=gzip.compress(json.dumps(silence).encode()),
        headers={**RESPONDER, **JSON, "Content-Encoding": "gzip"},
    )
    assert response.status == 201, await response.text()


@pytest.mark.parametrize("path", ["/api/v1/silences", "/api/v2/silences"])
async def test_a_compressed_body_without_a_key_is_refused_before_it_is_inflated(
    ingest: Ingest, path: str
) -> None:
    # 10 MB of spaces: with no key it is never inflated (401), with one it is, to 413.
    bomb = gzip.compress(b" " * 10_000_000)
    coded = {**JSON, "Content-Encoding": "gzip"}

    anonymous = await ingest.client.post(path, data=bomb, headers=coded)
    wrong_key = await ingest.client.post(
        path, data=bomb, headers={**coded, "Authorization": "Bearer nope"}
    )
    keyed = await ingest.client.post(path, data=bomb, headers={**RESPONDER, **coded})

    assert (anonymous.status, wrong_key.status) == (401, 401)
    assert keyed.status == 413
