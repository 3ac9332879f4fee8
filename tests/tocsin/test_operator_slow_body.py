"""A slow client of the operator API: every body has a deadline (408, connection closed).

Before: only the ingest endpoints (and then the status API) answered a body that trickled
in, or never came, with a 408 after ``body_timeout_seconds``; a key holder could hold
POSTs to the incident, problem and silence APIs open for as long as they liked. The
bodies are now read by one bounded reader (``tocsin.operator.json_body.read_bounded``).

Real HTTP over a raw connection; the deadline is the server's own (0.2 s), no sleep here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import ENV, RULES, START
from tests.trickle import trickled_answer
from tocsin.app import create_app


@pytest.fixture
async def impatient(
    aiohttp_client: Callable[..., Awaitable[Any]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Any:
    """The application with a short body deadline."""
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    settings = make_settings(body_timeout_seconds=0.2, correlate=False, rules=rules)
    app = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app)


@pytest.mark.parametrize(
    "path",
    [
        # A problem (tocsin/operator/problems.py).
        "/api/v1/problems",
        # A silence through the operator API and through Alertmanager's.
        "/api/v1/silences",
        "/api/v2/silences",
    ],
)
async def test_an_operator_body_that_does_not_arrive_in_time_is_408_and_the_connection_closes(
    impatient: Any, path: str
) -> None:
    answer = await trickled_answer(impatient.server, "POST", path, b'{"comment": ')
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"did not arrive within 0.2 s" in answer
