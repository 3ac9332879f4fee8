"""``q`` with non-ASCII text, percent-encoded as the README writes it, finds the titles."""

from __future__ import annotations

from pathlib import Path

import pytest
from yarl import URL

from tests.app_harness import VIEWER
from tests.tocsin.actions_harness import Served, incident

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, seeded as below."""
    served = served_on_each_store
    await served.seed(incident(1, title="STRASSE closed"), incident(2, title="Other"))
    return served


async def test_the_readmes_percent_encoded_q_finds_the_title(served: Served) -> None:
    encoded = "q=stra%C3%9Fe"
    assert encoded in README.read_text()
    url = URL(f"/api/v1/incidents?{encoded}", encoded=True)
    response = await served.client.get(url, headers=VIEWER)
    assert response.status == 200
    assert [i["id"] for i in (await response.json())["incidents"]] == ["inc-0001"]
