"""A slow client of the status API (issue 12, "Safe"): its body has a deadline.

Before: a POST or PATCH whose body trickled in (or never came) held its request open for
as long as the client liked; the ingest endpoints answer such a client with a 408 after
``body_timeout_seconds``, the status API waited for ever.

Real HTTP over a raw connection; the deadline is the server's own (0.2 s), no sleep here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import ENV, RESPONDER, START
from tests.statuspage.test_status_api import INCIDENTS, MAINTENANCES, PAGE_RULES, Client
from tests.trickle import trickled_answer
from tocsin.app import create_app


@pytest.fixture
async def impatient(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: object,
) -> Client:
    """The application with the status page's rules and a short body deadline."""
    rules = tmp_path / "status.yml"  # type: ignore[operator]
    rules.write_text(PAGE_RULES)
    settings = make_settings(body_timeout_seconds=0.2, correlate=False, rules=rules)
    app = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        # A new incident.
        ("POST", INCIDENTS),
        # A new maintenance.
        ("POST", MAINTENANCES),
    ],
)
async def test_a_status_body_that_does_not_arrive_in_time_is_408_and_the_connection_closes(
    impatient: Client, method: str, path: str
) -> None:
    answer = await trickled_answer(impatient.server, method, path, b'{"name": ')
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"did not arrive within 0.2 s" in answer
    listed = await impatient.get(INCIDENTS, headers=RESPONDER)
    assert (await listed.json())["incidents"] == []
