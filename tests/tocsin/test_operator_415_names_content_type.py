"""A body that is not declared as JSON is a 415 whose JSON body names ``Content-Type``.

The operator API's errors name the field at fault (README, Operator API); a 415 did not.
The check reads no store, so SQLite alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.settings import Settings
from tests.app_harness import RESPONDER
from tests.tocsin.actions_harness import Client, Served, incident, serve

# Each write of the operator API that takes a JSON body, sent as a form.
PATHS = [
    # An incident action.
    "/api/v1/incidents/inc-0001/note",
    # Creating a problem.
    "/api/v1/problems",
    # Creating a silence.
    "/api/v1/silences",
    # A public status incident.
    "/api/v1/status/incidents",
]


@pytest.fixture
async def served(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Served:
    """A server on SQLite with incident 1 triggered."""
    served = await serve(aiohttp_client, make_settings, tmp_path, None)
    await served.seed(incident(1))
    return served


@pytest.mark.parametrize("path", PATHS)
async def test_a_form_body_is_a_415_naming_content_type(served: Served, path: str) -> None:
    headers = {**RESPONDER, "Content-Type": "application/x-www-form-urlencoded"}
    response = await served.client.post(path, data=b"text=x", headers=headers)

    assert response.status == 415, await response.text()
    assert (await response.json())["field"] == "Content-Type"
