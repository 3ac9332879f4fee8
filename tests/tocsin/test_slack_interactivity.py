"""``POST /slack/interactivity`` through real HTTP on both stores: Slack's signature
(valid, wrong, stale, replayed), the Slack user as a person of the rules, the action
through the operator API's one path, and the message replaced through a response_url
served by a local stand-in for Slack (issue 11)."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import IncidentEvent, IncidentState
from core.settings import Settings
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from escalation.state import COLLECTION, Escalation, Phase
from tests.app_harness import ENV, RULES, START
from tests.support import poll_until
from tests.tocsin.actions_harness import Client, incident
from tocsin.app import create_app
from tocsin.keys import STORE
from tocsin.operator.slack_interactivity import PATH, RECEIVED, RESPONSE_URLS

SIGNING = "8f742231b10e8888abcd99edabcd00d1"
OTHER_SIGNING = "0123456789abcdef0123456789abcdef"
SLACK_RULES = (
    RULES
    + """
channels:
  - name: ops
    slack: {webhook_url: {env: SLACK_URL}, signing_secret: {env: SLACK_SIGNING}}
people:
  - name: ana
    display_name: Ana <Lima>
    contacts: [{channel: ops, address: U024BE7LH}]
  - name: ben
    display_name: Ben
    contacts: [{channel: ops, address: "@U0BEN"}]
  - name: cleo
    display_name: Cleo
    contacts: [{channel: ops, address: "@cleo"}]
"""
)
SLACK_ENV = {**ENV, "SLACK_URL": "http://127.0.0.1:1/services/x", "SLACK_SIGNING": SIGNING}
Serve = Callable[..., Awaitable[TestServer]]


@dataclass
class SlackSide:
    """Slack's end of a response_url: the messages posted to it."""

    posted: list[Any] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.posted.append(await request.json())
        return web.Response(text="ok")


@dataclass
class Slacked:
    """The server, its store and clock, and the stand-in for Slack."""

    client: Client
    store: Store
    clock: ManualClock
    slack: SlackSide
    response_url: str

    def signed(self, body: bytes, secret: str = SIGNING, at: float | None = None) -> dict[str, str]:
        """Slack's headers for ``body``, signed as Slack does (v0:timestamp:body)."""
        timestamp = str(int(self.clock.now().timestamp() if at is None else at))
        digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
        return {
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def body(
        self, action: str = "acknowledge", user: dict[str, str] | None = None, **more: Any
    ) -> bytes:
        """A block_actions payload, form-encoded, pressing ``action`` on inc-0001."""
        payload = {
            "type": "block_actions",
            "user": user or {"id": "U024BE7LH", "username": "ana.lima", "team_id": "T0"},
            "team": {"id": "T0", "domain": "example"},
            "response_url": self.response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action,
                    "block_id": "tocsin:ops",
                    "value": "inc-0001",
                    "action_ts": "1700000000.000100",
                }
            ],
        } | more
        return urllib.parse.urlencode({"payload": orjson.dumps(payload).decode()}).encode()

    async def press(self, body: bytes, headers: dict[str, str] | None = None) -> Any:
        """POSTs to the endpoint (signed with SIGNING unless ``headers``)."""
        return await self.client.post(PATH, data=body, headers=headers or self.signed(body))

    async def state(self) -> IncidentState:
        summary = await self.store.incident_summary("inc-0001")
        assert summary is not None
        return summary.incident.state

    async def timeline_kinds(self) -> list[tuple[str, str]]:
        return [(e.kind, e.actor) for e in await self.store.incident_events("inc-0001")]


async def _moved(request: web.Request) -> web.Response:
    """A response_url that redirects to another path of the stand-in."""
    return web.Response(status=307, headers={"Location": "/elsewhere"})


async def slacked(
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: Serve,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    store_url: str | None,
    rules_text: str = SLACK_RULES,
    allow_local: bool = True,
    seed: bool = True,
    slack_url: str | None = None,
) -> Slacked:
    """A server on a store with incident 1 triggered, its response_urls at a local server."""
    slack = SlackSide()
    side = web.Application()
    side.router.add_post("/actions/T0/1/x", slack.handle)
    side.router.add_post("/actions/T0/1/moved", _moved)
    side.router.add_post("/elsewhere", slack.handle)
    server = await aiohttp_server(side)
    rules = tmp_path / "slack-rules.yml"
    rules.write_text(rules_text)
    overrides: dict[str, object] = {"rules": rules, "correlate": False}
    if store_url is not None:
        overrides["store"] = store_url
    clock = ManualClock(START)
    env = SLACK_ENV if slack_url is None else {**SLACK_ENV, "SLACK_URL": slack_url}
    app = create_app(make_settings(**overrides), clock=clock, registry=CollectorRegistry(), env=env)
    if allow_local:
        app[RESPONSE_URLS] = (str(server.make_url("/actions/")),)
    client = await aiohttp_client(app)
    store = client.app[STORE]
    if seed:
        seeded = incident(1)
        await store.commit(
            CorrelationCommit(
                "test",
                incidents=(seeded,),
                heads=(GroupHead(seeded.group_key, None, seeded.id),),
                alerts=every_alert(seeded),
            )
        )
    return Slacked(client, store, clock, slack, str(server.make_url("/actions/T0/1/x")))


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def served(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: Serve,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Slacked:
    """A Slack-enabled server on each store."""
    url = None if request.param == "sqlite" else request.getfixturevalue("redis_url")
    return await slacked(aiohttp_client, aiohttp_server, make_settings, tmp_path, url)


def _blocks(message: dict[str, Any]) -> dict[str, Any]:
    """The message's first block of each type."""
    found: dict[str, Any] = {}
    for block in message["blocks"]:
        found.setdefault(block["type"], block)
    return found


async def test_acknowledge_acts_as_the_person_of_the_slack_user_id(served: Slacked) -> None:
    response = await served.press(served.body())
    assert response.status == 200, await response.text()
    answer = await response.json()

    summary = await served.store.incident_summary("inc-0001")
    assert summary is not None
    assert summary.incident.state is IncidentState.ACKNOWLEDGED
    assert summary.incident.acknowledged_by == "ana"
    events = await served.store.incident_events("inc-0001")
    [acknowledged] = [e for e in events if e.kind == "acknowledged"]
    assert acknowledged.actor == "ana"
    assert acknowledged.detail.get("note") == "Acknowledged from Slack."
    # The incident event stream has it too: the operator API's one path.
    batch = await served.store.claim_events(
        "slack-test", "m", 100, now=served.clock.now(), lease=timedelta(minutes=1)
    )
    assert [(e.kind, e.actor) for e in (s.event for s in batch.events)][-1:] == [
        ("acknowledged", "ana")
    ]

    # The message is replaced: the new state, who acted (escaped), Resolve left (no Open:
    # the incident's URL is the API's, useless in a browser; review 11 finding 7).
    assert served.slack.posted == [answer]
    assert answer["replace_original"] is True
    blocks = _blocks(answer)
    assert blocks["section"]["fields"][2]["text"] == "*State*\nacknowledged"
    # The rules' notification text, with the incident as stored (its one alert counted).
    assert answer["blocks"][2]["text"]["text"] == (
        "High latency on web-1\nPriority P2, performance, service checkout; 1 alert(s).\n"
        "http://127.0.0.1:9797/api/v1/incidents/inc-0001"
    )
    assert blocks["context"]["elements"][0]["text"] == (
        "Acknowledged by Ana &lt;Lima&gt; on 2026-11-27 15:12 UTC"
    )
    assert [e["action_id"] for e in blocks["actions"]["elements"]] == ["resolve"]
    assert all("url" not in e for e in blocks["actions"]["elements"])
    assert blocks["actions"]["block_id"] == "tocsin:ops"


async def test_resolve_acts_as_the_person_of_the_at_written_user_id(served: Slacked) -> None:
    body = served.body("resolve", {"id": "U0BEN", "username": "ben", "team_id": "T0"})
    response = await served.press(body)
    assert response.status == 200, await response.text()

    summary = await served.store.incident_summary("inc-0001")
    assert summary is not None
    found = summary.incident
    assert (found.state, found.resolved_by) == (IncidentState.RESOLVED, "ben")
    assert found.resolution_code == "solved_permanently"  # the rules' first code
    assert found.resolution_notes == "Resolved from Slack by Ben (ben)."
    [posted] = served.slack.posted
    assert "actions" not in _blocks(posted)  # nothing left to press
    assert _blocks(posted)["context"]["elements"][0]["text"].startswith("Resolved by Ben on ")


@pytest.mark.parametrize(
    ("headers_of", "field_name", "message"),
    [
        # Signed with another app's secret.
        (
            lambda s, b: s.signed(b, secret=OTHER_SIGNING),
            "X-Slack-Signature",
            "does not verify",
        ),
        # A correct signature over a timestamp 5 minutes and 1 second old.
        (
            lambda s, b: s.signed(b, at=s.clock.now().timestamp() - 301),
            "X-Slack-Request-Timestamp",
            "more than 5 minutes",
        ),
        # ... or as far in the future.
        (
            lambda s, b: s.signed(b, at=s.clock.now().timestamp() + 301),
            "X-Slack-Request-Timestamp",
            "more than 5 minutes",
        ),
        # The signature of another body (the payload was changed on the way).
        (
            lambda s, b: s.signed(b.replace(b"acknowledge", b"resolve")),
            "X-Slack-Signature",
            "does not verify",
        ),
        # No headers at all.
        (
            lambda s, b: {"Content-Type": "application/x-www-form-urlencoded"},
            "X-Slack-Signature",
            "are required",
        ),
        # A timestamp that is not a number.
        (
            lambda s, b: s.signed(b) | {"X-Slack-Request-Timestamp": "soon"},
            "X-Slack-Signature",
            "are required",
        ),
    ],
)
async def test_a_request_slack_did_not_sign_now_is_refused(
    served: Slacked,
    headers_of: Callable[[Slacked, bytes], dict[str, str]],
    field_name: str,
    message: str,
) -> None:
    body = served.body()
    response = await served.press(body, headers_of(served, body))
    assert response.status == 401
    error = await response.json()
    assert error["field"] == field_name
    assert message in error["error"]
    assert await served.state() is IncidentState.TRIGGERED
    assert served.slack.posted == []


async def test_a_replayed_request_acts_once(served: Slacked) -> None:
    body = served.body()
    headers = served.signed(body)
    first = await served.press(body, headers)
    assert first.status == 200

    # The same signed request again, within Slack's 5 minutes.
    served.clock.advance(timedelta(seconds=30))
    again = await served.press(body, headers)
    assert again.status == 401
    error = await again.json()
    assert (error["field"], error["error"]) == (
        "X-Slack-Signature",
        "this Slack request was received before",
    )
    # ... and after them: stale.
    served.clock.advance(timedelta(minutes=5))
    late = await served.press(body, headers)
    assert late.status == 401
    assert (await late.json())["field"] == "X-Slack-Request-Timestamp"

    assert [k for k in await served.timeline_kinds() if k[0] == "acknowledged"] == [
        ("acknowledged", "ana")
    ]
    assert len(served.slack.posted) == 1


async def test_an_unknown_slack_user_is_forbidden(served: Slacked) -> None:
    body = served.body(user={"id": "U0MALLORY", "username": "mallory", "team_id": "T0"})
    response = await served.press(body)
    assert response.status == 403
    error = await response.json()
    assert error["field"] == "payload.user"
    assert "U0MALLORY is not a person of the rules" in error["error"]
    assert await served.state() is IncidentState.TRIGGERED
    # Slack shows the presser (alone) why nothing happened.
    [refusal] = served.slack.posted
    assert refusal["response_type"] == "ephemeral"
    assert "is not a person of the rules" in refusal["text"]


async def test_a_refused_action_is_told_to_the_presser_alone(served: Slacked) -> None:
    assert (await served.press(served.body("resolve"))).status == 200
    served.clock.advance(timedelta(seconds=1))
    response = await served.press(served.body("acknowledge"))
    assert response.status == 409  # the API's answer: resolved allows no acknowledge
    refusal = served.slack.posted[-1]
    assert refusal["response_type"] == "ephemeral"
    assert refusal["replace_original"] is False
    assert "acknowledge" in refusal["text"]


async def test_open_acts_nothing(served: Slacked) -> None:
    response = await served.press(served.body("open"))
    assert response.status == 200
    assert await served.state() is IncidentState.TRIGGERED
    assert served.slack.posted == []


async def test_an_unknown_incident_is_a_404(served: Slacked) -> None:
    body = served.body()
    body = body.replace(b"inc-0001", b"inc-9999")
    response = await served.press(body)
    assert response.status == 404
    assert (await response.json())["field"] == "id"


async def test_a_response_url_that_is_not_slacks_is_not_called(
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: Serve,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    served = await slacked(
        aiohttp_client, aiohttp_server, make_settings, tmp_path, None, allow_local=False
    )
    response = await served.press(served.body())
    assert response.status == 200  # acted, and answered with the message
    assert await served.state() is IncidentState.ACKNOWLEDGED
    assert served.slack.posted == []  # but nothing sent outside Slack's hooks


async def test_without_a_signing_secret_the_endpoint_is_not_there(
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: Serve,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    rules = SLACK_RULES.replace(", signing_secret: {env: SLACK_SIGNING}", "")
    served = await slacked(aiohttp_client, aiohttp_server, make_settings, tmp_path, None, rules)
    response = await served.press(served.body())
    assert response.status == 404
    assert "no slack channel has a signing_secret" in (await response.json())["error"]
    assert await served.state() is IncidentState.TRIGGERED


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        # Not a form with a payload.
        (b"hello", "payload"),
        # A view submission, which no Tocsin message asks for.
        (
            urllib.parse.urlencode({"payload": '{"type": "view_submission"}'}).encode(),
            "payload.type",
        ),
        # No action.
        (
            urllib.parse.urlencode(
                {"payload": '{"type": "block_actions", "actions": [], "user": {"id": "U1"}}'}
            ).encode(),
            "payload.actions",
        ),
    ],
)
async def test_a_signed_payload_that_is_not_a_button_press_is_a_400(
    served: Slacked, body: bytes, field_name: str
) -> None:
    response = await served.press(body)
    assert response.status == 400
    assert [p["field"] for p in (await response.json())["problems"]] == [field_name]


@dataclass
class IncomingWebhook:
    """Slack's incoming webhook: the messages Tocsin posts."""

    messages: list[Any] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.messages.append(await request.json())
        return web.Response(text="ok")


@pytest.mark.parametrize("store_kind", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_page_posted_by_tocsin_serve_is_acknowledged_by_its_button(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: Serve,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    store_kind: str,
) -> None:
    """The whole loop: the server's escalation pages on Slack, the page's own button acts."""
    incoming = IncomingWebhook()
    side = web.Application()
    side.router.add_post("/services/T0/B0/x", incoming.handle)
    webhook_url = str((await aiohttp_server(side)).make_url("/services/T0/B0/x"))
    rules_text = SLACK_RULES + (
        "escalation_policies:\n"
        "  - name: web\n"
        "    levels:\n"
        "      - {delay: 5m, targets: [{person: ana}]}\n"
        "      - {delay: 5m, targets: [{person: ben}]}\n"
        "route: {policy: web, group_by: [alertname], group_wait: 0s}\n"
    )
    url = None if store_kind == "sqlite" else request.getfixturevalue("redis_url")
    served = await slacked(
        aiohttp_client,
        aiohttp_server,
        make_settings,
        tmp_path,
        url,
        rules_text,
        seed=False,
        slack_url=webhook_url,
    )
    opened = incident(1, opened_at=served.clock.now(), policy="web")
    await served.store.commit(
        CorrelationCommit(
            "test",
            incidents=(opened,),
            heads=(GroupHead(opened.group_key, None, opened.id),),
            events=(IncidentEvent(opened.id, served.clock.now(), "correlate", "opened", {}),),
        )
    )

    async def paged() -> Any:
        return incoming.messages[0] if incoming.messages else None

    page = await poll_until(paged, 20)
    actions = next(b for b in page["blocks"] if b["type"] == "actions")
    acknowledge = next(e for e in actions["elements"] if e["action_id"] == "acknowledge")
    assert acknowledge["value"] == opened.id
    context = next(b for b in page["blocks"] if b["type"] == "context")
    assert context["elements"][0]["text"] == "Paging <@U024BE7LH> (level 1)"

    # Slack sends the press back: this page's own button and block.
    body = served.body(
        actions=[
            {
                "type": "button",
                "action_id": "acknowledge",
                "block_id": actions["block_id"],
                "value": acknowledge["value"],
            }
        ]
    )
    response = await served.press(body)
    assert response.status == 200, await response.text()

    async def acknowledged() -> Phase | None:
        raw = await served.store.consumer_documents(COLLECTION, [opened.id])
        phase = Escalation.from_document(raw[opened.id]).phase if opened.id in raw else None
        return phase if phase is Phase.ACKNOWLEDGED else None

    # The escalation stage read the acknowledgement from the incident event stream.
    assert await poll_until(acknowledged, 20) is Phase.ACKNOWLEDGED
    assert await served.state() is IncidentState.ACKNOWLEDGED


@pytest.mark.parametrize(
    "user",
    [
        # Review 11 finding 4: another user taking Ana's id's person's name as username.
        {"id": "U0EVIL", "username": "ana.lima", "team_id": "T0"},
        # A contact written as @username matches no press: usernames can be changed.
        {"id": "U0CLEO", "username": "cleo", "name": "cleo", "team_id": "T0"},
    ],
)
async def test_a_username_alone_is_no_person(served: Slacked, user: dict[str, str]) -> None:
    response = await served.press(served.body("resolve", user))
    assert response.status == 403
    assert (await response.json())["field"] == "payload.user"
    assert await served.state() is IncidentState.TRIGGERED


async def test_a_replay_of_a_refused_press_is_refused_too(served: Slacked) -> None:
    """Review 11 finding 3: resolve refused (already resolved), reopened, then replayed."""
    assert (await served.press(served.body("resolve"))).status == 200
    served.clock.advance(timedelta(seconds=1))
    body = served.body("resolve", {"id": "U0BEN", "team_id": "T0"})
    headers = served.signed(body)
    assert (await served.press(body, headers)).status == 409
    summary = await served.store.incident_summary("inc-0001")
    assert summary is not None
    reopened = replace(
        summary.incident,
        state=IncidentState.TRIGGERED,
        resolved_by=None,
        version=summary.incident.version + 1,
    )
    await served.store.commit(
        CorrelationCommit("test", incidents=(reopened,), counts=(("inc-0001", 1, 1),))
    )
    assert await served.state() is IncidentState.TRIGGERED

    served.clock.advance(timedelta(seconds=30))
    again = await served.press(body, headers)
    assert again.status == 401
    assert (await again.json())["error"] == "this Slack request was received before"
    assert await served.state() is IncidentState.TRIGGERED


@pytest.mark.parametrize("action", ["open", "acknowledge"])
async def test_a_replay_of_any_verified_request_is_refused(served: Slacked, action: str) -> None:
    # Open acts nothing; an unknown user's press is refused: both are remembered anyway.
    user = {"id": "U0MALLORY", "team_id": "T0"}
    body = served.body(action, user)
    headers = served.signed(body)
    assert (await served.press(body, headers)).status in (200, 403)
    again = await served.press(body, headers)
    assert again.status == 401
    assert (await again.json())["field"] == "X-Slack-Signature"


async def test_received_requests_are_forgotten_once_stale(served: Slacked) -> None:
    for n in range(3):
        await served.press(served.body("open", action_ts=str(n)))
    received = await served.store.due_documents(
        RECEIVED, served.clock.now() + timedelta(minutes=7), 100
    )
    assert len(received) == 3
    served.clock.advance(timedelta(minutes=7))
    await served.press(served.body("open"))  # its write sweeps the stale ones
    left = await served.store.due_documents(RECEIVED, served.clock.now() + timedelta(days=1), 100)
    assert len(left) == 1


TEAM_RULES = SLACK_RULES.replace(
    "signing_secret: {env: SLACK_SIGNING}}", "signing_secret: {env: SLACK_SIGNING}, team_id: T0}"
)


@pytest.mark.parametrize(
    ("team", "user_team", "status"),
    [
        ({"id": "T0", "domain": "example"}, "T0", 200),
        ({"id": "T9EVIL", "domain": "evil"}, "T9EVIL", 403),
        # No team block: the user's team_id decides.
        (None, "T9EVIL", 403),
        (None, "T0", 200),
    ],
)
async def test_the_channels_team_id_names_the_workspace_presses_come_from(
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: Serve,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    team: dict[str, str] | None,
    user_team: str,
    status: int,
) -> None:
    served = await slacked(
        aiohttp_client, aiohttp_server, make_settings, tmp_path, None, TEAM_RULES
    )
    body = served.body(user={"id": "U024BE7LH", "team_id": user_team}, team=team)
    response = await served.press(body)
    assert response.status == status, await response.text()
    if status == 403:
        assert (await response.json())["field"] == "payload.team"
        assert await served.state() is IncidentState.TRIGGERED
    else:
        assert await served.state() is IncidentState.ACKNOWLEDGED


async def test_a_response_url_that_redirects_is_not_followed(served: Slacked) -> None:
    served.response_url = served.response_url.replace("/x", "/moved")
    response = await served.press(served.body())
    assert response.status == 200  # acted
    assert await served.state() is IncidentState.ACKNOWLEDGED
    assert served.slack.posted == []  # the redirect's target got nothing
