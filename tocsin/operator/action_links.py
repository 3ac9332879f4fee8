"""``GET /act/{token}`` and ``POST /act/{token}``: a notification's action links.

``GET`` checks the token (``escalation.action_links``) and shows a confirmation page
with the incident and a form; it changes nothing, so a mail scanner or a link preview
that fetches the URL acknowledges nothing. Only the form's ``POST`` acts, through the
same path as the operator API (``core.incident_actions.act``, state changes by
``core.lifecycle``), with the link's recipient as the actor (a responder; its timeline
entries carry ``"via": "action_link"``), in one
compare-and-set that also records the link as used (collection
``escalation.action_links.USED``, keyed by its nonce): a crash loses both or neither,
and of two concurrent uses one writes and the other, reading again, finds the record.

Answers are HTML pages (``action_link_pages``): 200 confirmation or outcome; 400 a
forged link or a form at fault; 403 a recipient no longer in the rules; 404 an
incident that does not exist; 409 an incident whose state does not allow the action
(nothing done, the link kept: also on GET); 410 an expired or used link.

The signing secret is ``TOCSIN_ACTION_LINK_SECRET`` (at least 32 characters) when set,
so that every replica shares it; otherwise a random secret generated once and kept in
the store (collection ``escalation.action_links.SECRETS``), so links outlive restarts.
The secret is never logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace

from aiohttp import web

from core.errors import InvalidFields, InvalidTransition
from core.incident import Incident
from core.incident_actions import Directory, act, available_actions
from core.incident_requests import parse_action
from core.lifecycle import DUPLICATE, Actor
from core.roles import Role
from core.store import OPERATOR_GROUP, CorrelationCommit, Store, VersionConflict
from core.store.events import ConsumerWrite
from core.timestamps import micros
from escalation.action_links import (
    MIN_SECRET,
    SECRETS,
    USED,
    ActionLinks,
    LinkAction,
    LinkClaim,
    LinkError,
    LinkExpired,
    new_secret,
)
from rules.model import Rules
from tocsin.keys import ACTION_LINKS, CLOCK, RULES, STORE
from tocsin.operator.action_link_pages import Form, Page

# The ``via`` of the timeline entries an action link writes.
VIA = "action_link"
SECRET_ENV = "TOCSIN_ACTION_LINK_SECRET"  # noqa: S105 (the variable's name)
# Compare-and-set attempts before giving up, as the operator API's.
ATTEMPTS = 5
# A form carries a resolution code and notes (10,000 characters, 4 bytes each at most).
MAX_FORM_BYTES = 64 * 1024
# Used-link records of expired links each action deletes at most.
_SWEEP = 10
_SECRET_KEY = "signing"  # noqa: S105 (the document's key)
_FIELDS = {LinkAction.ACKNOWLEDGE: ("note",), LinkAction.RESOLVE: ("resolution_code", "notes")}


def add_action_links(app: web.Application, env: Mapping[str, str]) -> None:
    """Registers the routes and the startup step that sets ``app[ACTION_LINKS]``.

    Call after the store's cleanup context is installed: the secret may come from it.
    """
    given = env.get(SECRET_ENV) or None
    if given is not None and len(given) < MIN_SECRET:
        raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET} characters long")
    app.router.add_get("/act/{token}", confirm)
    app.router.add_post("/act/{token}", perform)

    async def links_context(app: web.Application) -> AsyncIterator[None]:
        secret = given or await stored_secret(app[STORE])
        app[ACTION_LINKS] = ActionLinks(secret, app[CLOCK])
        yield

    app.cleanup_ctx.append(links_context)


async def stored_secret(store: Store) -> str:
    """The secret kept in the store, generated and written on first use.

    Two replicas starting together on an empty store may both write one; each reads
    back what the store holds after its own write, and the last write wins for both
    from then on (a link signed in that instant by the loser would be refused).
    """
    found = (await store.consumer_documents(SECRETS, [_SECRET_KEY])).get(_SECRET_KEY)
    if found is not None:
        secret: str = found["secret"]
        return secret
    write = ConsumerWrite(SECRETS, _SECRET_KEY, {"secret": new_secret()})
    await store.commit(CorrelationCommit(OPERATOR_GROUP, documents=(write,)))
    stored: str = (await store.consumer_documents(SECRETS, [_SECRET_KEY]))[_SECRET_KEY]["secret"]
    return stored


async def confirm(request: web.Request) -> web.Response:
    """Shows the incident and the form that acts; changes nothing."""
    checked = await _checked(request)
    if isinstance(checked, Page):
        return checked.response()
    claim, rules = checked
    store = request.app[STORE]
    summary = await store.incident_summary(claim.incident_id)
    if summary is None:
        return _missing(claim).response()
    verb = "Acknowledge" if claim.action is LinkAction.ACKNOWLEDGE else "Resolve"
    if claim.action.value not in available_actions(summary.incident):
        return _not_now(claim, summary.incident).response()
    return Page(
        200,
        f"{verb} incident {claim.incident_id}?",
        f"Nothing happens until you press {verb}; it is recorded as done by {claim.person}.",
        summary.incident,
        Form(claim.action, _codes(rules)),
    ).response()


async def perform(request: web.Request) -> web.Response:
    """Takes the link's action as its recipient, once; answers with the outcome page."""
    checked = await _checked(request)
    if isinstance(checked, Page):
        return checked.response()
    claim, rules = checked
    if (request.content_length or 0) > MAX_FORM_BYTES:
        return Page(413, "Form too large", "Send the form as the page gives it.").response()
    form = await request.post()
    body = {name: str(form[name]) for name in _FIELDS[claim.action] if name in form}
    return (await _act(request, claim, rules, body)).response()


async def _checked(request: web.Request) -> tuple[LinkClaim, Rules] | Page:
    """The link's claim and the rules in force, or the page that says why it cannot act."""
    links = request.app[ACTION_LINKS]
    rules = request.app[RULES].current.rules
    try:
        claim = links.verify(request.match_info["token"])
    except LinkExpired as exc:
        message = "Action links work for a limited time. Open the incident in Tocsin instead."
        return Page(exc.status, "This link has expired", message)
    except LinkError as exc:
        message = "This is not a link Tocsin made, or it was changed or cut short."
        return Page(exc.status, "This link is not valid", message)
    if claim.person not in rules.people:
        message = f"{claim.person} is no longer among the people in Tocsin's rules."
        return Page(403, "This link's recipient is unknown", message)
    used = await _used(request.app[STORE], claim)
    if used is not None:
        return used
    return claim, rules


async def _used(store: Store, claim: LinkClaim) -> Page | None:
    """The 410 page if the link was used already."""
    record = (await store.consumer_documents(USED, [claim.nonce])).get(claim.nonce)
    if record is None:
        return None
    message = f"It was used to {record['action']} incident {record['incident']}; it works once."
    return Page(410, "This link was already used", message)


async def _act(
    request: web.Request, claim: LinkClaim, rules: Rules, body: Mapping[str, str]
) -> Page:
    """Applies the action with compare-and-set and records the link used in the same write."""
    store = request.app[STORE]
    clock = request.app[CLOCK]
    links = request.app[ACTION_LINKS]
    actor = Actor(claim.person, Role.RESPONDER)
    directory = Directory(people=frozenset(rules.people), policy=rules.lifecycle)
    form = Form(claim.action, _codes(rules))
    try:
        codes = {"resolution_code": rules.lifecycle.resolution_codes}
        parsed = parse_action(claim.action.value, dict(body), codes)
    except InvalidFields as exc:
        problems = [f"{p.field}: {p.reason}" for p in exc.problems]
        summary = await store.incident_summary(claim.incident_id)
        incident = None if summary is None else summary.incident
        return Page(400, "Please complete the form", "Nothing was done.", incident, form, problems)
    for _ in range(ATTEMPTS):
        now = clock.now()
        # Read before the used-record lookup: a concurrent use that wrote after this
        # read moved the version (this write fails, and the retry finds its record).
        summary = await store.incident_summary(claim.incident_id)
        if (used := await _used(store, claim)) is not None:
            return used
        if summary is None:
            return _missing(claim)
        incident = summary.incident
        try:
            acted = act(incident, parsed, actor, now, directory)
        except InvalidTransition:
            return _not_now(claim, incident)
        changed = replace(acted.incident, version=incident.version + 1)
        # The timeline says the action came through a link (not an API key).
        events = tuple(replace(e, detail={**e.detail, "via": VIA}) for e in acted.events)
        record = {
            "incident": claim.incident_id,
            "action": claim.action.value,
            "person": claim.person,
            "used_at": micros(now),
        }
        used_write = ConsumerWrite(USED, claim.nonce, record, due=links.expires_at(claim))
        expired = await store.due_documents(USED, now, _SWEEP)
        sweep = tuple(ConsumerWrite(USED, key) for key, _ in expired if key != claim.nonce)
        try:
            await store.commit(
                CorrelationCommit(
                    OPERATOR_GROUP,
                    incidents=(changed,),
                    events=events,
                    documents=(used_write, *sweep),
                    counts=((changed.id, summary.alerts, summary.firing),),
                )
            )
        except VersionConflict:
            continue  # another writer came first: read again and apply again
        done = "acknowledged" if claim.action is LinkAction.ACKNOWLEDGE else "resolved"
        message = f"Incident {changed.id} is {done} by {claim.person}."
        return Page(200, f"Incident {done}", message, changed)
    message = f"Incident {claim.incident_id} kept changing while this was applied; try again."
    return Page(409, "Please try again", message)


def _not_now(claim: LinkClaim, incident: Incident) -> Page:
    """The 409 page of an incident whose state does not allow the link's action."""
    state = incident.state.value.replace("_", " ")
    message = f"The incident is {state}, which does not allow this. Nothing was done."
    return Page(409, f"Cannot {claim.action.value} now", message, incident)


def _missing(claim: LinkClaim) -> Page:
    """The 404 page of a link whose incident does not exist."""
    message = f"There is no incident {claim.incident_id}; it may have been removed."
    return Page(404, "No such incident", message)


def _codes(rules: Rules) -> tuple[str, ...]:
    """The resolution codes the form offers: the rules', but a merge's (``duplicate``)."""
    return tuple(code for code in rules.lifecycle.resolution_codes if code != DUPLICATE)
