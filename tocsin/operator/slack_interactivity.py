"""``POST /slack/interactivity``: the Acknowledge and Resolve buttons of Slack messages.

Slack posts a form with one field, ``payload`` (JSON, type ``block_actions``), signed
with the Slack app's signing secret (``X-Slack-Signature``, ``X-Slack-Request-Timestamp``;
https://docs.slack.dev/authentication/verifying-requests-from-slack/). The request is
accepted only if:

- some Slack channel of the rules has a ``signing_secret`` (else this path is a 404);
- the timestamp is within 5 minutes of the injected clock, and the signature is that of
  one of those secrets (slack-sdk's ``SignatureVerifier``), else 401;
- it was not received before: every verified request's signature is recorded on
  receipt (collection :data:`RECEIVED`, kept until its timestamp leaves the window),
  whatever then comes of it (acted, refused, Open), so a replay within the 5 minutes
  is a 401 even if the first press was refused (an incident already resolved, then
  reopened); an action also records it, as an idempotency key, in the same store write
  as the action, so of two identical requests racing each other one acts;
- the press comes from the channel's workspace: a Slack channel with a ``team_id``
  accepts presses whose ``team.id`` (else ``user.team_id``) is that id, else 403;
- the Slack user is a person of the rules, by a contact on a channel of that secret
  whose address is the user's id (``U024BE7LH``, ``W…``), else 403. Usernames are not
  accepted: a user can rename themselves (and in another workspace take any name),
  while the id is Slack's and is what it signs. Errors are the API's JSON errors.

The action is then the operator API's (``incident_actions.perform``): the same lifecycle,
timeline, event stream and conflicts, the person as its actor with the responder role.
The timeline's note says it came from Slack; Resolve takes the rules' first resolution
code. A press of Open (a button of messages sent before it was dropped) acts nothing.
After acting, the message is replaced through the payload's ``response_url`` (only a
URL under :data:`RESPONSE_URLS`: Slack's) to show the new state and who acted; a
refusal (an unknown user, an incident already resolved) is said to the presser alone
(an ephemeral message) and answered with the API's JSON error.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import structlog
from aiohttp import web
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from core.clock import Clock
from core.errors import (
    FieldProblem,
    Forbidden,
    InputError,
    InvalidFields,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
)
from core.incident import Incident
from core.lifecycle import Actor
from core.lifecycle_requests import Acknowledge, Resolve
from core.roles import Role
from core.store import OPERATOR_GROUP, CorrelationCommit
from core.store.events import ConsumerWrite
from core.timestamps import micros
from escalation.slack import channel_templates, incident_url
from escalation.slack_message import (
    ACKNOWLEDGE,
    BLOCK_PREFIX,
    RESOLVE,
    IncidentFacts,
    escape,
    incident_message,
    render_texts,
)
from rules.channels import Channel, SlackConfig
from rules.model import Rules
from rules.people import Person
from tocsin.keys import CLOCK, RULES, SETTINGS, STORE
from tocsin.operator.idempotency import IdempotencyKey
from tocsin.operator.incident_actions import ActionCall, Performed, perform
from tocsin.operator.json_body import read_bounded

PATH = "/slack/interactivity"
# Slack's own window for a request's timestamp.
WINDOW_SECONDS = 5 * 60
# A payload carries the whole message pressed (blocks and all): generous, but bounded.
MAX_BODY_BYTES = 256 * 1024
# Where a response_url may point: Slack's hooks (a test points it at its own server).
RESPONSE_URLS = web.AppKey("slack_response_urls", tuple[str, ...])
SESSION = web.AppKey("slack_session", aiohttp.ClientSession)
_DEFAULT_RESPONSE_URLS = ("https://hooks.slack.com/",)
_RESPONSE_TIMEOUT = aiohttp.ClientTimeout(total=2)
# The signatures of requests received (see the module docstring).
RECEIVED = "slack_requests"
# Past its timestamp's window a request is stale anyway; a minute more for clock steps.
_KEEP_RECEIVED = timedelta(seconds=WINDOW_SECONDS + 60)
# Received-request records past their time each new one's write deletes at most.
_SWEEP = 10
_SIGNATURE = "X-Slack-Signature"
_TIMESTAMP = "X-Slack-Request-Timestamp"
# A Slack user id (``U…``, or ``W…`` in Enterprise Grid).
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")

log = structlog.get_logger("tocsin.slack")


def add_slack_interactivity(app: web.Application) -> None:
    """Registers the endpoint and its HTTP client session (for the ``response_url``)."""
    app[RESPONSE_URLS] = _DEFAULT_RESPONSE_URLS
    app.cleanup_ctx.append(_session)
    app.router.add_post(PATH, slack_interactivity)


async def _session(app: web.Application) -> AsyncIterator[None]:
    """The client session that replaces messages, closed on shutdown."""
    async with aiohttp.ClientSession() as session:
        app[SESSION] = session
        yield


class _Clock(SlackClock):
    """slack-sdk's clock reading Tocsin's injected one."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp()


async def slack_interactivity(request: web.Request) -> web.Response:
    """Verifies a button press, acts as its person, and replaces the message."""
    rules = request.app[RULES].current.rules
    clock = request.app[CLOCK]
    secured = [c for c in rules.channels.values() if _signing(c) is not None]
    if not secured:
        raise NotFound("Slack interactivity is off: no slack channel has a signing_secret")
    body = await _read(request)
    signature = request.headers.get(_SIGNATURE, "")
    channels = _verified(request, body, secured, clock)
    await _received_once(request.app, signature, int(request.headers[_TIMESTAMP]))
    payload = _payload(body)
    action = payload["actions"][0]
    if action.get("action_id") not in (ACKNOWLEDGE, RESOLVE):
        return web.json_response({"ok": True})  # Open: Slack opened the link
    response_url = payload.get("response_url")
    try:
        person = _person(rules, _of_workspace(channels, payload), payload["user"])
        done = await _act(request.app, rules, person, action, body, signature)
    except InputError as exc:
        # Told to the presser alone; the HTTP answer is the API's JSON error.
        refusal = {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": escape(str(exc)),
        }
        await _respond(request.app, response_url, refusal)
        raise
    if done.replayed or done.incident is None:
        raise Unauthenticated("this Slack request was received before", field=_SIGNATURE)
    channel = rules.channels.get(str(action.get("block_id", "")).removeprefix(BLOCK_PREFIX))
    alerts = orjson.loads(done.answer.body).get("counts", {}).get("alerts", 0)
    message = _message(request, rules, channel, done.incident, person, alerts)
    answer = {"replace_original": True, **message}
    await _respond(request.app, response_url, answer)
    return web.json_response(answer)


async def _act(
    app: web.Application,
    rules: Rules,
    person: Person,
    action: dict[str, Any],
    body: bytes,
    signature: str,
) -> Performed:
    """Acknowledges or resolves as ``person`` through the operator API's one path."""
    incident_id = action.get("value")
    if not isinstance(incident_id, str) or not incident_id:
        raise InvalidFields([FieldProblem("payload.actions[0].value", "is not an incident id")])
    if action["action_id"] == ACKNOWLEDGE:
        parsed: Acknowledge | Resolve = Acknowledge("Acknowledged from Slack.")
    else:
        notes = f"Resolved from Slack by {person.display_name} ({person.name})."
        parsed = Resolve(rules.lifecycle.resolution_codes[0], notes)
    # The signature names the request: a replay finds this record and acts nothing.
    key = IdempotencyKey(
        hashlib.sha256(f"slack\n{signature}".encode()).hexdigest(),
        hashlib.sha256(body).hexdigest(),
    )
    call = ActionCall(incident_id, Actor(person.name, Role.RESPONDER), parsed, key=key)
    return await perform(app, call)


async def _received_once(app: web.Application, signature: str, timestamp: int) -> None:
    """Records a verified request's signature; 401 if it was received before.

    Written before anything else is done with the request, so a replay is refused
    whatever came of the first (acted, refused, or nothing to do).
    """
    store = app[STORE]
    now = app[CLOCK].now()
    key = hashlib.sha256(f"slack\n{signature}".encode()).hexdigest()
    if key in await store.consumer_documents(RECEIVED, [key]):
        raise Unauthenticated("this Slack request was received before", field=_SIGNATURE)
    due = datetime.fromtimestamp(timestamp, UTC) + _KEEP_RECEIVED
    expired = await store.due_documents(RECEIVED, now, _SWEEP)
    sweep = tuple(ConsumerWrite(RECEIVED, k) for k, _ in expired if k != key)
    record = ConsumerWrite(RECEIVED, key, {"received_at": micros(now)}, due=max(due, now))
    await store.commit(CorrelationCommit(OPERATOR_GROUP, documents=(record, *sweep)))


def _of_workspace(channels: list[Channel], payload: dict[str, Any]) -> list[Channel]:
    """The channels that accept presses from the payload's workspace; else 403."""
    team = payload.get("team")
    user = payload["user"]
    team_id = team.get("id") if isinstance(team, dict) else None
    team_id = team_id if isinstance(team_id, str) else user.get("team_id")
    accepted = [
        channel
        for channel in channels
        if isinstance(channel.config, SlackConfig) and channel.config.team_id in (None, team_id)
    ]
    if not accepted:
        shown = team_id if isinstance(team_id, str) else "none"
        raise Forbidden(
            f"the press comes from Slack workspace {shown[:40]}, not the one the channel's"
            " team_id names",
            field="payload.team",
        )
    return accepted


def _signing(channel: Channel) -> str | None:
    """The channel's resolved signing secret, if it is a Slack channel with one."""
    config = channel.config
    if isinstance(config, SlackConfig) and config.signing_secret is not None:
        secret = config.signing_secret
        return secret.value if secret.resolved else None
    return None


async def _read(request: web.Request) -> bytes:
    """The body, at most MAX_BODY_BYTES (413 past it, read no further), in time (408)."""
    too_large = PayloadTooLarge(f"a Slack request is at most {MAX_BODY_BYTES} bytes", field="body")
    return await read_bounded(request, MAX_BODY_BYTES, too_large)


def _verified(
    request: web.Request, body: bytes, secured: list[Channel], clock: Clock
) -> list[Channel]:
    """The channels whose signing secret signed the request; 401 if none or stale."""
    timestamp = request.headers.get(_TIMESTAMP, "")
    signature = request.headers.get(_SIGNATURE, "")
    if not timestamp.isascii() or not timestamp.isdigit() or not signature:
        raise Unauthenticated(f"{_TIMESTAMP} and {_SIGNATURE} are required", field=_SIGNATURE)
    if abs(clock.now().timestamp() - int(timestamp)) > WINDOW_SECONDS:
        raise Unauthenticated(
            f"{_TIMESTAMP} is more than 5 minutes from now (a stale or replayed request)",
            field=_TIMESTAMP,
        )
    verified = [
        channel
        for channel in secured
        if SignatureVerifier(_signing(channel) or "-", _Clock(clock)).is_valid(
            body, timestamp, signature
        )
    ]
    if not verified:
        raise Unauthenticated("the Slack signature does not verify", field=_SIGNATURE)
    return verified


def _payload(body: bytes) -> dict[str, Any]:
    """The form's ``payload``: a block_actions payload with an action and a user; else 400."""
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    raw = form.get("payload", [""])[0]
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidFields([FieldProblem("payload", "is not JSON")]) from exc
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise InvalidFields([FieldProblem("payload.type", "only block_actions is handled")])
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise InvalidFields([FieldProblem("payload.actions", "names no action")])
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise InvalidFields([FieldProblem("payload.user", "names no user")])
    return payload


def _person(rules: Rules, channels: list[Channel], user: dict[str, Any]) -> Person:
    """The person whose contact on one of ``channels`` is this Slack user; else 403."""
    names = {channel.name for channel in channels}
    user_id = user["id"]
    # The id only (``@U…`` read as the id too): a username is the user's to change.
    if _USER_ID.fullmatch(user_id):
        for person in rules.people.values():
            for contact in person.contacts:
                if contact.channel in names and contact.address.removeprefix("@") == user_id:
                    return person
    raise Forbidden(
        f"Slack user {user_id[:40]} is not a person of the rules (a contact on the"
        " Slack channel whose address is the user's id, e.g. U024BE7LH)",
        field="payload.user",
    )


def _message(
    request: web.Request,
    rules: Rules,
    channel: Channel | None,
    incident: Incident,
    person: Person,
    alerts: int,
) -> dict[str, Any]:
    """The pressed message as it reads now: the incident's state and who acted."""
    public_url = request.app[SETTINGS].public_base_url
    facts = IncidentFacts(
        id=incident.id,
        title=incident.title,
        state=incident.state.value,
        priority=incident.priority,
        service=incident.service,
        url=incident_url(public_url, incident.id),
        category=incident.category,
        team=incident.team,
        impact=None if incident.impact is None else str(incident.impact),
        urgency=None if incident.urgency is None else str(incident.urgency),
        opened_at=incident.opened_at.isoformat(),
        alert_count=alerts,
    )
    templates = rules.templates.notification
    if channel is not None:
        templates = channel_templates(channel, rules, templates)
    texts = render_texts(templates, facts, 1, person.display_name)
    when = request.app[CLOCK].now().strftime("%Y-%m-%d %H:%M UTC")
    verb = "Acknowledged" if incident.state.value == "acknowledged" else "Resolved"
    note = f"{verb} by {escape(person.display_name)} on {when}"
    return incident_message(facts, texts, channel.name if channel else "", note, buttons=True)


async def _respond(app: web.Application, url: object, message: dict[str, Any]) -> None:
    """POSTs ``message`` to a response_url of Slack's; a failure is logged, not raised."""
    if not isinstance(url, str) or not url.startswith(app[RESPONSE_URLS]):
        return
    try:
        # No redirect is followed (escalation.redirects): only Slack's URL gets the message.
        async with app[SESSION].post(
            url, json=message, timeout=_RESPONSE_TIMEOUT, allow_redirects=False
        ) as response:
            if response.status >= 300:
                log.warning("slack_response_refused", status=response.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The error's class only: the URL is a credential for the message.
        log.warning("slack_response_failed", error=type(exc).__name__)
