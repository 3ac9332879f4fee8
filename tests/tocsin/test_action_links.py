"""Action links through real HTTP on SQLite and on a real redis-server.

GET only confirms; POST acts once, as the link's recipient; expired, used, forged and
foreign links are refused with an HTML page and change nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import IncidentState
from core.settings import Settings
from escalation.action_links import USED, ActionLinks, LinkAction
from tests.app_harness import ENV, START
from tests.tocsin.actions_harness import Client, Served, incident, serve
from tocsin.app import create_app
from tocsin.keys import ACTION_LINKS, STORE
from tocsin.operator.action_links import SECRET_ENV


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store with incident 1 triggered, and incident 2 with a hostile title."""
    served = served_on_each_store
    await served.seed(incident(1), incident(2, title="<script>alert(1)</script> & co"))
    return served


def link(served: Served, action: LinkAction, person: str = "ana", inc: str = "inc-0001") -> str:
    """The path of a fresh link to ``action`` incident ``inc`` for ``person``."""
    links: ActionLinks = served.client.app[ACTION_LINKS]
    return links.path(inc, action, person)


async def state_of(served: Served, incident_id: str = "inc-0001") -> IncidentState:
    found = await served.store.get_incident(incident_id)
    assert found is not None
    return found.state


async def acknowledge(served: Served, path: str) -> ClientResponse:
    return await served.client.post(path, data={"note": "on it"})


async def test_get_confirms_and_changes_nothing(served: Served) -> None:
    path = link(served, LinkAction.ACKNOWLEDGE)
    # A mail scanner fetching the link, twice, and a HEAD.
    for _ in range(2):
        page = await served.client.get(path)
        assert page.status == 200
        text = await page.text()
        assert "Acknowledge incident inc-0001?" in text
        assert '<form method="post">' in text
    assert (await served.client.head(path)).status == 200

    assert await state_of(served) is IncidentState.TRIGGERED
    assert await served.stream() == []
    nonce = served.client.app[ACTION_LINKS].verify(path.removeprefix("/act/")).nonce
    assert await served.store.consumer_documents(USED, [nonce]) == {}
    # The link still works after being fetched.
    assert (await acknowledge(served, path)).status == 200
    assert set(await served.store.consumer_documents(USED, [nonce])) == {nonce}


async def test_pages_are_escaped_and_locked_down(served: Served) -> None:
    page = await served.client.get(link(served, LinkAction.RESOLVE, inc="inc-0002"))
    text = await page.text()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Content-Type"].startswith("text/html")
    # The resolve form offers the rules' resolution codes and asks for notes.
    assert '<select name="resolution_code">' in text
    assert "<option>solved_workaround</option>" in text
    assert '<textarea name="notes" required' in text


async def test_post_acknowledges_once_as_the_recipient(served: Served) -> None:
    path = link(served, LinkAction.ACKNOWLEDGE, person="ben")
    done = await acknowledge(served, path)
    assert done.status == 200, await done.text()
    assert "Incident inc-0001 is acknowledged by ben." in await done.text()

    stored = await served.store.get_incident("inc-0001")
    assert stored is not None
    assert stored.state is IncidentState.ACKNOWLEDGED
    assert stored.acknowledged_by == "ben"
    [event] = await served.stream()
    assert (event.kind, event.actor, event.detail.get("note")) == ("acknowledged", "ben", "on it")
    assert event.detail["via"] == "action_link"

    # Replayed: refused, and nothing more happens.
    for again in (await acknowledge(served, path), await served.client.get(path)):
        assert again.status == 410
        assert "This link was already used" in await again.text()
    assert await served.stream() == []


async def test_resolve_needs_the_form_then_resolves(served: Served) -> None:
    path = link(served, LinkAction.RESOLVE)
    missing = await served.client.post(path, data={"resolution_code": "solved_permanently"})
    assert missing.status == 400
    assert "notes" in await missing.text()
    assert await state_of(served) is IncidentState.TRIGGERED

    done = await served.client.post(
        path, data={"resolution_code": "solved_permanently", "notes": "restarted web-1"}
    )
    assert done.status == 200, await done.text()
    stored = await served.store.get_incident("inc-0001")
    assert stored is not None
    assert stored.state is IncidentState.RESOLVED
    [event] = await served.stream()
    assert (event.actor, event.detail["resolution_code"]) == ("ana", "solved_permanently")


async def test_expired_links_are_refused(served: Served) -> None:
    path = link(served, LinkAction.ACKNOWLEDGE)
    clock = served.clock
    clock.advance(timedelta(hours=24))
    assert (await served.client.get(path)).status == 200  # the last second of its day
    clock.advance(timedelta(seconds=1))
    for answer in (await served.client.get(path), await acknowledge(served, path)):
        assert answer.status == 410
        assert "This link has expired" in await answer.text()
    assert await state_of(served) is IncidentState.TRIGGERED


@pytest.mark.parametrize(
    "tamper",
    [
        # The signature's first character changed (its last one may only carry padding
        # bits, so changing it can leave the signature's bytes, and the link, valid).
        lambda t: (
            t[: t.rindex(".") + 1]
            + ("A" if t[t.rindex(".") + 1] != "A" else "B")
            + t[t.rindex(".") + 2 :]
        ),
        # The payload swapped for another person's, keeping the signature.
        lambda t: (
            "eyJpIjoiaW5jLTAwMDEiLCJhIjoiYWNrbm93bGVkZ2UiLCJwIjoiYmVuIiwibiI6IngifQ"
            + t[t.index(".") :]
        ),
        # Cut short.
        lambda t: t[: len(t) // 2],
        # Not a token at all.
        lambda t: "hello",
    ],
)
async def test_forged_links_are_refused(served: Served, tamper: Callable[[str], str]) -> None:
    token = link(served, LinkAction.ACKNOWLEDGE).removeprefix("/act/")
    forged = "/act/" + tamper(token)
    for answer in (await served.client.get(forged), await acknowledge(served, forged)):
        assert answer.status == 400
        assert "This link is not valid" in await answer.text()
    assert await state_of(served) is IncidentState.TRIGGERED


async def test_a_link_signed_with_another_secret_is_refused(served: Served) -> None:
    other = ActionLinks("z" * 32, served.clock)
    path = other.path("inc-0001", LinkAction.ACKNOWLEDGE, "ana")
    assert (await acknowledge(served, path)).status == 400
    assert await state_of(served) is IncidentState.TRIGGERED


async def test_unknown_recipient_and_missing_incident(served: Served) -> None:
    stranger = await acknowledge(served, link(served, LinkAction.ACKNOWLEDGE, person="zoe"))
    assert stranger.status == 403
    missing = await acknowledge(served, link(served, LinkAction.ACKNOWLEDGE, inc="inc-9999"))
    assert missing.status == 404
    assert "There is no incident inc-9999" in await missing.text()
    assert await served.stream() == []


async def test_a_state_that_forbids_the_action_keeps_the_link(served: Served) -> None:
    first = link(served, LinkAction.ACKNOWLEDGE)
    second = link(served, LinkAction.ACKNOWLEDGE, person="ben")
    assert (await acknowledge(served, first)).status == 200
    refused = await acknowledge(served, second)
    assert refused.status == 409
    assert "The incident is acknowledged" in await refused.text()
    # Its GET says so too, and offers no form.
    page = await served.client.get(second)
    assert page.status == 409
    assert "<form" not in await page.text()
    # Not used up (were the incident triggered again, it would work).
    nonce = served.client.app[ACTION_LINKS].verify(second.removeprefix("/act/")).nonce
    assert await served.store.consumer_documents(USED, [nonce]) == {}


async def test_concurrent_uses_act_once(served: Served) -> None:
    path = link(served, LinkAction.ACKNOWLEDGE)
    answers = await asyncio.gather(*(acknowledge(served, path) for _ in range(4)))
    assert sorted(a.status for a in answers) == [200, 410, 410, 410]
    assert len(await served.stream()) == 1


async def test_links_of_one_secret_work_after_a_restart(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    """Without the variable, the generated secret is kept in the store; with it, it is used."""
    first = await serve(aiohttp_client, make_settings, tmp_path, None)
    await first.seed(incident(1))
    path = link(first, LinkAction.ACKNOWLEDGE)
    settings = make_settings(rules=tmp_path / "action-rules.yml", correlate=False)
    await first.client.close()

    again = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    client = await aiohttp_client(again)
    assert (await client.get(path)).status == 200

    secret = "s" * 40
    env = {**ENV, SECRET_ENV: secret}
    third = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=env)
    client = await aiohttp_client(third)
    assert (await client.get(path)).status == 400
    mine = ActionLinks(secret, ManualClock(START)).path("inc-0001", LinkAction.ACKNOWLEDGE, "ana")
    assert (await client.get(mine)).status == 200
    assert client.app[STORE] is not None
    assert re.search(secret, repr(client.app[ACTION_LINKS])) is None


def test_a_short_secret_is_refused_at_start(make_settings: Callable[..., Settings]) -> None:
    env = {**ENV, SECRET_ENV: "too-short"}
    with pytest.raises(ValueError, match="TOCSIN_ACTION_LINK_SECRET must be at least 32"):
        create_app(make_settings(correlate=False), registry=CollectorRegistry(), env=env)
