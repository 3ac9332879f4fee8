"""Schemathesis runs Tocsin's own OpenAPI document against a running ``tocsin serve``.

On both stores, a server holding incidents (alerts posted first, correlated by its
correlator child), a problem and silences is called with generated parameters and
bodies, valid and invalid, for every operation of the document, with an admin key: no
answer may be a 5xx, and each must be one the document lists, with the body and headers
it describes. Most calls on one thing (``{id}``) name one that exists (``Api.pin``), so
that the actions act on real incidents.
A stateful run then follows the document's links (create a silence, read it, expire it;
list incidents, read one, act on it), so that the calls that need an existing thing get
one.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.redis_server import RedisServer
from tests.server_process import AM_AUTH, CREDENTIALS_ENV, TocsinProcess
from tests.support import poll_until
from tocsin.openapi import build_document

ADMIN_KEY = "openapi-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
RULES = """\
sources:
  - name: alertmanager
    kind: alertmanager
    auth:
      bearer_token: {env: ITEST_AM_TOKEN}
api_keys:
  - {name: schemathesis, role: admin, key: {file: admin-key}}
channels:
  - name: pager
    webhook: {url: "http://127.0.0.1:9/pager"}
people:
  - {name: ana, display_name: Ana Lima, time_zone: Europe/Berlin,
     contacts: [{channel: pager, address: ana}]}
  - {name: ben, display_name: Ben Okafor, time_zone: Europe/Berlin,
     contacts: [{channel: pager, address: ben}]}
teams:
  - {name: database, display_name: Database, members: [ana, ben]}
schedules:
  - name: db-weekly
    display_name: Database on-call
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        members: [ana, ben]
        rotation: {every: 1w, handoff: "2026-01-05T09:00"}
calendar_feeds:
  secret: {file: feed-secret}
status_page:
  name: Test Status
  time_zone: UTC
  components:
    - {name: website, display_name: Website}
    - {name: checkout, display_name: Checkout}
silences:
  - name: legacy
    matchers: ['instance="legacy:9100"']
    starts_at: 2026-01-01T00:00:00Z
    ends_at: 2099-01-01T00:00:00Z
    comment: read-only, from the rules
"""
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Alert groups posted before the run: each becomes an incident.
SEEDED = ("DiskFull", "HighLatency", "BackupFailed")

DOCUMENT = build_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# The coverage phase sends each operation some hundred boundary and invalid requests,
# which the handlers refuse before any store is read: run on SQLite only, it keeps the
# whole module near a minute. Redis gets the examples, the fuzzing and the links.
without_coverage = schemathesis.openapi.from_dict(build_document())  # its own config
without_coverage.config.phases.coverage.enabled = False


@dataclass(frozen=True)
class Api:
    """A running Tocsin's base URL, and what exists in it: ids, names, feed tokens."""

    url: str
    # (path prefix, path parameter, values that name a thing that exists)
    existing: list[tuple[str, str, list[str]]]
    tokens: dict[str, str]  # a calendar feed's path -> its token
    server: TocsinProcess

    def call(self, case: schemathesis.Case[Any]) -> None:
        """Pins the case, calls it and checks the answer; a failure quotes the server's log."""
        self.pin(case)
        try:
            case.call_and_validate(base_url=self.url, headers=ADMIN, checks=CHECKS)
        except BaseException as exc:
            exc.add_note(f"tocsin's log, {self.server.log_path}:\n{self.server.log_tail(15)}")
            raise

    def pin(self, case: schemathesis.Case[Any]) -> None:
        """Makes most cases name things that exist; the others keep their generated names.

        A generated id names nothing (404): pinned, the actions act on real incidents,
        with generated bodies, and the feeds answer calendars. Which cases keep theirs
        depends on the generated values only, so that a failing example reproduces.
        """
        given = dict(case.path_parameters or {})
        seed = zlib.crc32(repr(sorted(given.items())).encode())
        if seed % 4 == 0:
            return
        for prefix, parameter, values in self.existing:
            if case.path.startswith(prefix) and parameter in given:
                given[parameter] = values[seed % len(values)]
        case.path_parameters = given
        feed = case.formatted_path
        if feed in self.tokens and isinstance(case.query, dict) and "token" in case.query:
            case.query = {**case.query, "token": self.tokens[feed]}


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A running Tocsin on SQLite, holding incidents, a problem and silences."""
    work = tmp_path_factory.mktemp("openapi-sqlite")
    yield from _running(work, f"sqlite://{work / 'tocsin.db'}")


@pytest.fixture(scope="module")
def redis_api(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[Api]:
    """A running Tocsin on Redis, holding incidents, a problem and silences."""
    redis_server.flushall()
    yield from _running(tmp_path_factory.mktemp("openapi-redis"), redis_server.url)


def _running(work: Path, store: str) -> Iterator[Api]:
    (work / "admin-key").write_text(ADMIN_KEY)
    (work / "feed-secret").write_text("openapi-feed-secret-0123456789abcdef")
    (work / "rules.yml").write_text(RULES)
    tocsin = TocsinProcess(
        rules=work / "rules.yml", store=store, work_dir=work / "tocsin", env=CREDENTIALS_ENV
    )
    asyncio.run(tocsin.start())
    try:
        yield asyncio.run(_populate(tocsin))
    finally:
        tocsin.kill()


async def _populate(tocsin: TocsinProcess) -> Api:
    """Posts alerts, a silence and a problem, once the correlator made the incidents."""
    now = datetime.now(UTC)
    later = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    alerts = [
        {"status": "firing", "labels": {"alertname": name, "instance": "db1:9100"},
         "annotations": {"summary": name}, "startsAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph"}
        for name in SEEDED
    ]  # fmt: skip
    webhook = {"version": "4", "status": "firing", "receiver": "tocsin", "groupKey": "{}:{}",
               "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
               "externalURL": "http://alertmanager", "alerts": alerts}  # fmt: skip
    _call(tocsin.url, "POST", "/ingest/alertmanager", webhook, AM_AUTH)
    body = {"matchers": ['alertname="Quiet"'], "ends_at": later, "comment": "for the run"}
    silence = _call(tocsin.url, "POST", "/api/v1/silences", body, ADMIN)

    async def correlated() -> list[str] | None:
        listed = _call(tocsin.url, "GET", "/api/v1/incidents", None, ADMIN)["incidents"]
        return [i["id"] for i in listed] if len(listed) == len(SEEDED) else None

    await tocsin.wait_correlator()
    incidents = await poll_until(correlated, deadline_seconds=20, interval=0.1)
    body = {"title": "disk and backups", "incidents": incidents[:1]}
    problem = _call(tocsin.url, "POST", "/api/v1/problems", body, ADMIN)
    existing = [
        ("/api/v1/incidents/", "id", incidents),
        ("/api/v1/problems/", "id", [problem["id"]]),
        ("/api/v1/silences/", "id", [silence["id"], "rules:legacy"]),
        ("/api/v1/schedules/", "name", ["db-weekly"]),
        ("/api/v1/calendar/schedules/", "name", ["db-weekly"]),
        ("/api/v1/calendar/people/", "name", ["ana", "ben"]),
    ]
    if "/api/v1/status/incidents" in DOCUMENT["paths"]:  # the status page's API (issue 12)
        body = {"name": "Slow checkout", "body": "Looking into it.", "components": ["checkout"]}
        public = _call(tocsin.url, "POST", "/api/v1/status/incidents", body, ADMIN)
        body = {"name": "Database upgrade", "scheduled_for": later, "components": ["website"],
                "scheduled_until": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        maintenance = _call(tocsin.url, "POST", "/api/v1/status/maintenances", body, ADMIN)
        existing += [
            ("/api/v1/status/incidents/", "id", [public["id"]]),
            ("/api/v1/status/maintenances/", "id", [maintenance["id"]]),
        ]
    feeds = _call(tocsin.url, "GET", "/api/v1/calendar/feeds", None, ADMIN)
    tokens = {
        url.split("?")[0]: url.split("token=")[1]
        for urls in feeds.values()
        for url in urls.values()
    }
    return Api(
        tocsin.url,
        existing,
        tokens,
        tocsin,
    )


def _call(url: str, method: str, path: str, body: object, headers: dict[str, str]) -> Any:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(
            method, path, body=payload, headers={**headers, "Content-Type": "application/json"}
        )
        response = connection.getresponse()
        data = response.read()
        assert response.status < 300, (response.status, data)
        return json.loads(data)
    finally:
        connection.close()


_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@schema.parametrize()
@_SETTINGS
def test_every_operation_on_sqlite_answers_as_the_document_says(
    case: schemathesis.Case[Any], sqlite_api: Api
) -> None:
    sqlite_api.call(case)


@without_coverage.parametrize()
@_SETTINGS
def test_every_operation_on_redis_answers_as_the_document_says(
    case: schemathesis.Case[Any], redis_api: Api
) -> None:
    redis_api.call(case)


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_linked_calls_answer_as_the_document_says(
    store: str, request: pytest.FixtureRequest
) -> None:
    api: Api = request.getfixturevalue(f"{store}_api")

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        """Follows the document's links with the admin key, checking every answer."""

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"base_url": api.url, "headers": ADMIN}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: schemathesis.Case[Any],
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseException as exc:
                exc.add_note(f"tocsin's log:\n{api.server.log_tail(15)}")
                raise

    Workflow.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
