"""``POST /api/v1/incidents/{id}/{action}`` and the tasks endpoints: people work incidents.

Each action reads the incident without its alerts (a merge reads both incidents whole,
since alerts move), applies the action (``core.incident_actions``, state
changes through ``core.lifecycle``) and writes the result in one compare-and-set with
its timeline events, which go to the incident event stream in the same write. A
concurrent write by the correlator makes the compare-and-set fail: the action is read
and applied again, a few times (:data:`ATTEMPTS`), unless the request named the version
it expects (``If-Match``): then a changed version is a 412 carrying the current ETag.

The answer is the incident's detail as ``GET /api/v1/incidents/{id}`` will show it
(built before the write, see ``incident_pages.render_after_change``), with its ETag;
a merge answers the incident merged into. With an ``Idempotency-Key`` the answer is
recorded in the same write (``idempotency``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aiohttp import web

from core.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
)
from core.incident import Incident, IncidentEvent
from core.incident_actions import Directory, act, merge
from core.incident_requests import (
    ActionRequest,
    body_characters,
    parse_action,
    parse_completion,
    parse_task,
)
from core.lifecycle import Actor
from core.lifecycle_requests import Merge
from core.store import (
    OPERATOR_GROUP,
    CorrelationCommit,
    GroupHead,
    IncidentAlertWrite,
    IncidentSummary,
    Store,
    VersionConflict,
)
from core.store.events import ConsumerWrite
from rules.api_keys import Role
from rules.model import Rules
from rules.priority import priority_name
from tocsin.keys import CLOCK, RULES, STORE
from tocsin.operator.auth import require
from tocsin.operator.idempotency import (
    IdempotencyKey,
    Recorded,
    expired_keys,
    idempotency_key,
    if_match,
)
from tocsin.operator.incident_pages import (
    DetailPage,
    after_change,
    alert_page_of,
    check_timeline_position,
    page_url,
    parse_page,
    render_after_change,
    timeline_fingerprints,
)
from tocsin.operator.json_body import body_limit, read_json_body
from tocsin.operator.render import etag

# Compare-and-set attempts before giving up (409): the correlator writes an incident
# at most once per step, so a few attempts outlast any burst of its writes.
ATTEMPTS = 5
# An action's body: its fields' limits, each character escaped in the worst way.
MAX_BODY_BYTES = body_limit(body_characters())
# How many of a merged incident's latest timeline entries move to the target with it:
# all of a person's work, while a storm's thousands of joins stay on the source.
MERGED_TIMELINE = 500


def add_action_routes(router: web.UrlDispatcher) -> None:
    """Registers the action endpoints (the tasks paths before the general one)."""
    router.add_post("/api/v1/incidents/{id}/tasks", add_task)
    router.add_post("/api/v1/incidents/{id}/tasks/{task_id}/complete", complete_task)
    router.add_post("/api/v1/incidents/{id}/{action}", incident_action)


async def incident_action(request: web.Request) -> web.Response:
    """Applies ``{action}`` with its JSON body; 200 with the incident (or the merge target)."""
    api_key = require(request, Role.RESPONDER)
    body = await _read_body(request)
    choices = _choices(_directory(request.app[RULES].current.rules))
    parsed = parse_action(request.match_info["action"], body, choices)
    return await _perform(request, Actor(api_key.name, api_key.role), parsed, body, 200)


async def add_task(request: web.Request) -> web.Response:
    """Adds a task ``{title}``; 201 with the incident."""
    api_key = require(request, Role.RESPONDER)
    body = await _read_body(request)
    parsed = parse_task(body)
    return await _perform(request, Actor(api_key.name, api_key.role), parsed, body, 201)


async def complete_task(request: web.Request) -> web.Response:
    """Completes task ``{task_id}`` with ``{note?}``; 200 with the incident."""
    api_key = require(request, Role.RESPONDER)
    body = await _read_body(request)
    parsed = parse_completion(request.match_info["task_id"], body)
    return await _perform(request, Actor(api_key.name, api_key.role), parsed, body, 200)


@dataclass(frozen=True, slots=True)
class _Change:
    """What one attempt writes, and the incident it answers with.

    ``counts`` are those of the incidents written without their alerts (read as
    summaries: an action that changes no alert never reads a storm's); a merge reads
    and writes both incidents whole.
    """

    incidents: tuple[Incident, ...]
    events: tuple[IncidentEvent, ...]
    answer: Incident
    heads: tuple[GroupHead, ...] = ()
    alerts: tuple[IncidentAlertWrite, ...] = ()
    counts: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One person's action on one incident, however it arrived (the API, Slack, a link).

    ``expected`` is If-Match's versions (None: any); ``key`` an idempotency key whose
    record is written with the change (the Slack endpoint keys a request's signature, so
    a replay finds the record and acts nothing).
    """

    incident_id: str
    actor: Actor
    parsed: ActionRequest
    expected: set[int] | None = None
    key: IdempotencyKey | None = None
    page: DetailPage = field(default_factory=DetailPage)
    status: int = 200


@dataclass(frozen=True, slots=True)
class Performed:
    """The answer to an action, and whether it was recorded before (nothing was done)."""

    answer: Recorded
    replayed: bool = False
    incident: Incident | None = None  # the answered incident as written; None if replayed


async def _perform(
    request: web.Request, actor: Actor, parsed: ActionRequest, body: Any, status: int
) -> web.Response:
    """Performs the action a request asks for and answers it (see :func:`perform`)."""
    call = ActionCall(
        request.match_info["id"],
        actor,
        parsed,
        if_match(request),
        idempotency_key(request, actor.name, body),
        parse_page(request.query, request.match_info["id"]),
        status,
    )
    done = await perform(request.app, call)
    if done.replayed:
        return done.answer.response()
    return web.Response(
        body=done.answer.body,
        status=status,
        content_type="application/json",
        headers={"ETag": done.answer.etag},
    )


async def perform(app: web.Application, call: ActionCall) -> Performed:
    """Reads, applies and writes with compare-and-set, retrying on a concurrent write.

    The one path of every person's action, so roles, the timeline, the event stream and
    If-Match mean the same wherever the action came from.
    """
    store = app[STORE]
    clock = app[CLOCK]
    rules = app[RULES].current.rules
    incident_id = call.incident_id
    actor, parsed, expected, key = call.actor, call.parsed, call.expected, call.key
    directory = _directory(rules)
    for _ in range(ATTEMPTS):
        now = clock.now()
        # The incident is read before the key is looked up: a concurrent request with
        # the same key that wrote after this read moved the version (this write fails
        # and the retry finds its record); one that wrote before it left its record.
        summary = await store.incident_summary(incident_id)
        if key is not None and (recorded := await key.recorded(store, now)) is not None:
            return Performed(recorded, replayed=True)
        if summary is None:
            raise NotFound(f"no incident {incident_id!r}", field="id")
        incident = summary.incident
        if expected is not None and incident.version not in expected:
            raise PreconditionFailed(
                f"incident {incident_id} is at version {incident.version}, "
                f"not the one If-Match names",
                etag(incident),
            )
        try:
            if isinstance(parsed, Merge):
                change = await _merge(store, incident, parsed, actor, now, directory)
            else:
                acted = act(incident, parsed, actor, now, directory)
                changed = replace(acted.incident, version=incident.version + 1)
                counts = ((changed.id, summary.alerts, summary.firing),)
                change = _Change((changed,), acted.events, changed, counts=counts)
            answer = await _answer(store, change, rules, call.page, call.status)
            documents: tuple[ConsumerWrite, ...] = ()
            if key is not None:
                documents += (key.record(answer, now), *await expired_keys(store, now, key.key))
            await store.commit(
                CorrelationCommit(
                    OPERATOR_GROUP,
                    incidents=change.incidents,
                    heads=change.heads,
                    events=change.events,
                    alerts=change.alerts,
                    documents=documents,
                    counts=change.counts,
                )
            )
        except VersionConflict:
            continue  # another writer came first: read again and apply again
        return Performed(answer, incident=change.answer)
    raise Conflict(
        f"incident {incident_id} changed {ATTEMPTS} times while this was applied; try again"
    )


async def _merge(
    store: Store,
    read: Incident,
    request: Merge,
    actor: Actor,
    now: datetime,
    directory: Directory,
) -> _Change:
    """Both incidents after the merge, the alerts moved, and the group heads moved over.

    Reads the source whole (``read`` is its summary); VersionConflict if it changed.
    """
    target = await store.get_incident(request.into)
    if target is None:
        raise NotFound(f"no incident {request.into!r} to merge into", field="into")
    source = await store.get_incident(read.id)
    if source is None or source.version != read.version:
        raise VersionConflict(f"incident {read.id} changed while it was read")
    # The source's latest timeline entries move over (a storm's may be long: bounded).
    _, total = await store.incident_events_page(source.id, 0, 1)
    earlier = max(0, total - MERGED_TIMELINE)
    history, _ = await store.incident_events_page(source.id, earlier, MERGED_TIMELINE)
    merged = merge(source, target, actor, now, directory, history, earlier)
    new_source = replace(merged.source, version=source.version + 1)
    new_target = replace(merged.target, version=target.version + 1)
    # Later alerts of the source's group go to the target, if the source is its head;
    # so do those of each group whose incident was merged into the source before.
    heads: list[GroupHead] = []
    for group_key in await _merged_groups(store, source):
        head = await store.incident_for_group(group_key)
        if head is not None and head.id == source.id:
            heads.append(GroupHead(group_key, source.id, target.id))
    return _Change(
        (new_source, new_target),
        merged.events,
        new_target,
        tuple(heads),
        tuple(IncidentAlertWrite(target.id, a) for a in merged.moved),
    )


async def _merged_groups(store: Store, source: Incident) -> list[str]:
    """The group keys of ``source`` and of every incident merged into it, however deep.

    Each merge moved the heads the merged incident held to the source, so these are the
    groups whose head may be the source (merges are rare, and chains of them short).
    """
    keys = [source.group_key]
    seen = {source.id}
    todo = [source.id]
    while todo:
        for event in await store.incident_events(todo.pop()):
            merged_id = event.detail.get("incident") if event.kind == "merged_from" else None
            if not isinstance(merged_id, str) or merged_id in seen:
                continue
            seen.add(merged_id)
            todo.append(merged_id)
            summary = await store.incident_summary(merged_id)
            if summary is not None and summary.incident.group_key not in keys:
                keys.append(summary.incident.group_key)
    return keys


async def _answer(
    store: Store, change: _Change, rules: Rules, page: DetailPage, status: int
) -> Recorded:
    """The detail page of the answered incident as it will be once the change is written."""
    answer = change.answer
    shown, total = await store.incident_events_page(
        answer.id, page.timeline_cursor, page.timeline_limit
    )
    check_timeline_position(page, total)
    added = [e for e in change.events if e.incident_id == answer.id]
    events = after_change(shown, total, added, page)
    kept = {incident_id: (a, f) for incident_id, a, f in change.counts}
    if answer.id in kept:
        # Read without its alerts: the store reads the page's, as a GET does.
        alerts = await store.incident_alert_page(
            answer.id, page.alerts_cursor, page.alerts_limit, timeline_fingerprints(events)
        )
        summary = IncidentSummary(answer, *kept[answer.id])
    else:
        alerts = alert_page_of(answer, page, events)
        summary = IncidentSummary(answer, len(answer.alerts), answer.firing_count())
    url = page_url(answer.id, page)
    body = await asyncio.to_thread(
        render_after_change,
        summary,
        alerts,
        shown,
        total,
        added,
        rules.priority.matrix,
        page,
        url,
    )
    return Recorded(status, body, etag(answer))


def _directory(rules: Rules) -> Directory:
    """The names and values the rules in force let an action use."""
    levels = rules.priority.matrix.levels
    return Directory(
        teams=frozenset(rules.teams),
        people=frozenset(rules.people),
        priorities=tuple(priority_name(n) for n in range(1, levels + 1)),
        policy=rules.lifecycle,
    )


def _choices(directory: Directory) -> dict[str, Sequence[str]]:
    """The fields whose value is one of the rules' list, with the list (a 400 names each)."""
    return {
        "resolution_code": directory.policy.resolution_codes,
        "priority": directory.priorities,
    }


async def _read_body(request: web.Request) -> Any:
    """The JSON body (None when empty), at most MAX_BODY_BYTES (see ``json_body``)."""
    return await read_json_body(request, MAX_BODY_BYTES, "an action's body")
