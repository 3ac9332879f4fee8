"""Alertmanager's own OpenAPI document (v0.25.0) drives a schemathesis run against /api/v2.

Every operation of the document but one is called with generated parameters and bodies
(valid and invalid) on a running ``tocsin serve`` that holds open alerts (one silenced,
one inhibited) and silences. No answer may be a 5xx, and every documented answer must
match the document's schema (400s are JSON strings, as Alertmanager's).

``POST /api/v2/alerts`` is left out: it is ingest's write side, which Prometheus uses and
which stays as it is; its 400 lists each bad alert in Tocsin's JSON object, not a string.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.server_process import CREDENTIALS_ENV, PROM_PASSWORD, PROM_USER, TocsinProcess

SCHEMA = Path(__file__).with_name("alertmanager-openapi-v0.25.0.yaml")
ADMIN_KEY = "schema-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
RULES = """\
sources:
  - name: prometheus
    kind: alertmanager_api
    auth:
      basic: {username: prometheus, password: {env: ITEST_PROM_PASSWORD}}
api_keys:
  - {name: schemathesis, role: admin, key: {file: admin-key}}
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname="DiskFull"']
    equal: [instance]
silences:
  - name: legacy
    matchers: ['instance="legacy:9100"']
    starts_at: 2026-01-01T00:00:00Z
    ends_at: 2099-01-01T00:00:00Z
    comment: read-only, from the rules
"""

schema = schemathesis.openapi.from_path(SCHEMA).exclude(method="POST", path="/alerts")


@pytest.fixture(scope="module")
def api_v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Tocsin with alerts and silences; yields its /api/v2 base URL."""
    work = tmp_path_factory.mktemp("schema")
    (work / "admin-key").write_text(ADMIN_KEY)
    (work / "rules.yml").write_text(RULES)
    tocsin = TocsinProcess(
        rules=work / "rules.yml",
        store=f"sqlite://{work / 'tocsin.db'}",
        work_dir=work / "tocsin",
        env=CREDENTIALS_ENV,
    )
    asyncio.run(tocsin.start())
    try:
        _populate(tocsin.url)
        yield f"{tocsin.url}/api/v2"
    finally:
        tocsin.kill()


def _populate(url: str) -> None:
    now = datetime.now(UTC)
    later = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    silence = {
        "matchers": [{"name": "alertname", "value": "HighLatency", "isRegex": False}],
        "startsAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endsAt": later,
        "createdBy": "fixture",
        "comment": "muted for the schema run",
    }
    _post(url, "/api/v2/silences", silence, ADMIN)
    credentials = base64.b64encode(f"{PROM_USER}:{PROM_PASSWORD}".encode()).decode()
    alerts = [
        {"labels": {"alertname": name, "instance": "db1:9100"}, "endsAt": later,
         "annotations": {"summary": name}, "generatorURL": "http://prometheus/graph"}
        for name in ("NodeDown", "DiskFull", "HighLatency", "BackupFailed")
    ]  # fmt: skip
    _post(url, "/api/v2/alerts", alerts, {"Authorization": f"Basic {credentials}"})


def _post(url: str, path: str, body: object, headers: dict[str, str]) -> None:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        headers = {**headers, "Content-Type": "application/json"}
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        assert response.status == 200, response.read()
    finally:
        connection.close()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_v2_answers_as_alertmanagers_document_says(
    case: schemathesis.Case, api_v2: str
) -> None:
    case.call_and_validate(
        base_url=api_v2,
        headers=ADMIN,
        checks=[not_a_server_error, response_schema_conformance],
    )
