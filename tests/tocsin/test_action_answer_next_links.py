"""An action's answer keeps the page sizes it was given in its next links, as a GET does."""

from __future__ import annotations

from dataclasses import replace

import pytest
from yarl import URL

from tests.app_harness import VIEWER
from tests.tocsin.actions_harness import Served, incident


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, with incident 1 triggered, holding three alerts."""
    served = served_on_each_store
    base = incident(1)
    [template] = base.alerts.values()
    alerts = {f: replace(template, fingerprint=f) for f in ("a" * 16, "b" * 16, "c" * 16)}
    await served.seed(replace(base, alerts=alerts))
    return served


def query(link: str) -> dict[str, str]:
    return dict(URL(link).query)


async def test_an_actions_next_links_keep_its_page_sizes(served: Served) -> None:
    path = "/api/v1/incidents/inc-0001"
    for n in range(3):  # a timeline of three notes, then the fourth with the answer
        await served.act("inc-0001", "note", {"text": f"note {n}"})
    response = await served.post(
        f"{path}/note?alerts_limit=1&timeline_limit=2", {"text": "the fourth"}
    )
    assert response.status == 200, await response.text()
    answer = await response.json()
    got = await served.client.get(f"{path}?alerts_limit=1&timeline_limit=2", headers=VIEWER)
    read = await got.json()
    # (page, the parameters its next link must keep)
    for page in ("alerts_page", "timeline_page"):
        link = answer[page]["next"]
        assert link is not None
        assert link.startswith(f"{path}?")
        kept = query(link)
        assert (kept["alerts_limit"], kept["timeline_limit"]) == ("1", "2"), link
        # The same link a GET of the same page gives.
        assert link == read[page]["next"]
