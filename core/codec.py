"""JSON encoding of the domain objects the stores keep (incidents, events, silences)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec
import orjson

from core.incident import (
    OPEN_STATES,
    Incident,
    IncidentAlert,
    IncidentEvent,
    IncidentState,
    Task,
)
from core.model import AlertStatus
from core.silence import LabelMatcher, Silence
from core.timestamps import Memo, from_micros, micros

T = TypeVar("T")


def _opt_micros(instant: datetime | None) -> int | None:
    return None if instant is None else micros(instant)


def _opt_instant(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


_MICROSECOND = timedelta(microseconds=1)


def encode_incident(incident: Incident) -> bytes:
    """Serialises an incident without its alerts; :func:`encode_alert` writes each of those.

    Kept apart so that a commit rewrites only the alerts that changed, however many
    alerts the incident has.
    """
    # Written on every commit that changes the incident, a resend's too (its version):
    # optional instants, tasks and durations inline, without a call each.
    acknowledged_at, resolved_at, closed_at = (
        incident.acknowledged_at,
        incident.resolved_at,
        incident.closed_at,
    )
    sweep_at, on_hold_since, state_changed_at = (
        incident.sweep_at,
        incident.on_hold_since,
        incident.state_changed_at,
    )
    tasks = incident.tasks
    return orjson.dumps(
        {
            "id": incident.id,
            "group_key": incident.group_key,
            "title": incident.title,
            "state": incident.state.value,
            "opened_at": micros(incident.opened_at),
            "version": incident.version,
            "category": incident.category,
            "service": incident.service,
            "impact": incident.impact,
            "urgency": incident.urgency,
            "priority": incident.priority,
            "team": incident.team,
            "route": incident.route,
            "policy": incident.policy,
            "assignee": incident.assignee,
            "acknowledged_at": None if acknowledged_at is None else micros(acknowledged_at),
            "resolved_at": None if resolved_at is None else micros(resolved_at),
            "closed_at": None if closed_at is None else micros(closed_at),
            "flapping": incident.flapping,
            "stale_resolved": incident.stale_resolved,
            "held": incident.held,
            "muted": incident.muted,
            "public": incident.public,
            "components": list(incident.components),
            "sweep_at": None if sweep_at is None else micros(sweep_at),
            "acknowledged_by": incident.acknowledged_by,
            "resolved_by": incident.resolved_by,
            "closed_by": incident.closed_by,
            "resolution_code": incident.resolution_code,
            "resolution_notes": incident.resolution_notes,
            "auto_resolved": incident.auto_resolved,
            "hold_reason": incident.hold_reason,
            "on_hold_since": None if on_hold_since is None else micros(on_hold_since),
            "on_hold_total": incident.on_hold_total // _MICROSECOND,
            "reopen_count": incident.reopen_count,
            "state_changed_at": None if state_changed_at is None else micros(state_changed_at),
            "tasks": [_task_document(t) for t in tasks] if tasks else [],
            "problem_id": incident.problem_id,
            "merged_into": incident.merged_into,
        }
    )


def _task_document(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "source": task.source,
        "created_by": task.created_by,
        "created_at": micros(task.created_at),
        "completed_by": task.completed_by,
        "completed_at": _opt_micros(task.completed_at),
    }


def _task_from(raw: dict[str, Any]) -> Task:
    return Task(
        id=raw["id"],
        title=raw["title"],
        source=raw["source"],
        created_by=raw["created_by"],
        created_at=from_micros(raw["created_at"]),
        completed_by=raw["completed_by"],
        completed_at=_opt_instant(raw["completed_at"]),
    )


def encode_alert(alert: IncidentAlert) -> bytes:
    """Serialises one alert of an incident."""
    return _encode_document(_alert_document(alert))


def encode_alert_batch(alerts: Iterable[IncidentAlert]) -> bytes:
    """Serialises alerts of one incident as one JSON array of :func:`encode_alert` documents."""
    return _encode_document([_alert_document(alert) for alert in alerts])


class _AlertDocument(msgspec.Struct, gc=False):
    """An alert document as the stores keep it: its fields, in this order, are the JSON's.

    A storm writes one per new alert: msgspec encodes a struct's known fields in about
    a third fewer instructions than orjson takes for a 17-key dict built per alert (and
    writes the same bytes). Instants are microseconds since the epoch. Untracked by the
    cyclic collector (``gc=False``): it lives only until it is encoded.
    """

    fingerprint: str
    labels: Mapping[str, str]
    status: AlertStatus
    first_seen: int
    last_seen: int
    count: int
    position: str
    ends_at: int | None
    transitions: list[int]
    muted_by: str | None
    annotations: Mapping[str, str]
    generator_url: str
    starts_at: int | None
    first_received_at: int | None
    last_received_at: int | None
    expired: bool
    dedup_key: str | None


_encode_document = msgspec.json.Encoder().encode

# The instants of one commit's alerts are mostly the same few (the step's time, each
# request's receipt, the source's start shared by a group), and a commit writes thousands
# of documents with seven instants each: converted once each here, not once per field.
_shared_micros: Memo[datetime, int] = Memo(micros)
# And back, when an incident's thousands of alerts are read: one datetime per instant.
_shared_instant: Memo[int, datetime] = Memo(from_micros)


def _alert_document(alert: IncidentAlert) -> _AlertDocument:
    ends_at, starts_at = alert.ends_at, alert.starts_at
    first_received, last_received = alert.first_received_at, alert.last_received_at
    # Most alerts never flapped: no comprehension (a function call of its own in 3.11)
    # for them, on every resend's write.
    transitions = alert.transitions
    # Positional, in field order: keywords cost more, once per document written.
    return _AlertDocument(
        alert.fingerprint,
        alert.labels,
        alert.status,  # a StrEnum: msgspec writes its value
        _shared_micros[alert.first_seen],
        _shared_micros[alert.last_seen],
        alert.count,
        alert.position,
        None if ends_at is None else _shared_micros[ends_at],
        [micros(t) for t in transitions] if transitions else [],
        alert.muted_by,
        alert.annotations,
        alert.generator_url,
        None if starts_at is None else _shared_micros[starts_at],
        None if first_received is None else _shared_micros[first_received],
        None if last_received is None else _shared_micros[last_received],
        alert.expired,
        alert.dedup_key,
    )


def _alert_dict(alert: IncidentAlert) -> dict[str, Any]:
    """The alert's document as the dict a reader of stored documents gets from JSON."""
    return orjson.loads(encode_alert(alert))  # type: ignore[no-any-return]


def decode_incident_documents(
    data: bytes | str, alerts: Iterable[bytes | str] = ()
) -> tuple[Incident, dict[str, dict[str, Any]]]:
    """Reads an incident as :func:`decode_incident` does, but leaves its alerts as documents.

    For readers of very many alerts at once (Alertmanager's API lists every open alert):
    an alert document is the dict :func:`encode_alert` wrote (instants in microseconds
    since the epoch; ``labels``, ``annotations``, ``status``, ``muted_by``...), and
    turning 100,000 of them into IncidentAlerts costs seconds. Returns the incident
    without its alerts, and its alerts' documents by fingerprint, a later document for a
    fingerprint replacing an earlier one. An incident of the old layout, its alerts
    inline, is decoded whole and its alerts given as documents.
    """
    documents: dict[str, dict[str, Any]] = {}
    for body in alerts:
        parsed = orjson.loads(body)
        for document in parsed if isinstance(parsed, list) else (parsed,):
            documents[document["fingerprint"]] = document
    incident = decode_incident(data)
    if incident.alerts:
        inline = {f: _alert_dict(a) for f, a in incident.alerts.items()}
        documents = {**inline, **documents}
    return replace(incident, alerts={}), documents


def alert_bodies(incident: Incident, alerts: Iterable[bytes]) -> tuple[Incident, list[bytes]]:
    """The incident without its alerts, and its alerts' stored bodies, left encoded.

    An incident of the old layout (decoded with its alerts inline) gives those as one
    batch before the stored bodies, so that :func:`alert_documents` reads them all.
    """
    bodies = list(alerts)
    if not incident.alerts:
        return incident, bodies
    inline = encode_alert_batch(incident.alerts.values())
    return replace(incident, alerts={}), [inline, *bodies]


def alert_documents(bodies: Iterable[bytes | str]) -> Iterator[dict[str, Any]]:
    """Yields the alert documents of stored bodies (each one document or a batch), in order.

    One body is decoded at a time, so that a reader of 100,000 alerts never holds them
    all decoded at once (the cyclic collector would walk them). A later document for a
    fingerprint replaces an earlier one: the reader keeps the last.
    """
    for batch in alert_batches(bodies):
        yield from batch


def alert_batches(
    bodies: Iterable[bytes | str], gather: int = 512
) -> Iterator[list[dict[str, Any]]]:
    """Yields the documents of :func:`alert_documents`, in order, a list at a time.

    A stored batch comes whole; bodies of one document each (Redis keeps an alert per
    hash field) are gathered, up to ``gather`` of them, so that a reader can take the
    documents a list at a time either way.
    """
    return gathered_runs((orjson.loads(body) for body in bodies), gather)


def gathered_runs(decoded: Iterable[T | list[T]], gather: int) -> Iterator[list[T]]:
    """Yields ``decoded`` a list at a time, in order: each list as it came, and the single
    items between them gathered into lists of at most ``gather``."""
    gathered: list[T] = []
    for item in decoded:
        if not isinstance(item, list):
            gathered.append(item)
            if len(gathered) >= gather:
                yield gathered
                gathered = []
            continue
        if gathered:
            yield gathered
            gathered = []
        yield item
    if gathered:
        yield gathered


def documents_by_fingerprint(bodies: Iterable[bytes | str]) -> dict[str, dict[str, Any]]:
    """The alert documents of stored bodies by fingerprint, the last one of each kept."""
    return {document["fingerprint"]: document for document in alert_documents(bodies)}


def decode_incident(data: bytes | str, alerts: Iterable[bytes | str] = ()) -> Incident:
    """Reads back an incident from :func:`encode_incident`'s document and its alerts'.

    Each of ``alerts`` is one :func:`encode_alert` document or a batch of them
    (:func:`encode_alert_batch`); a later document for a fingerprint replaces an earlier
    one. A document written before alerts were stored apart holds them inline, in an
    ``"alerts"`` list; those count too, before all others. The alerts come in the order
    they joined the incident.
    """
    raw = orjson.loads(data)
    state, reopened = _state(raw["state"])
    opened_at = from_micros(raw["opened_at"])
    documents = {a["fingerprint"]: a for a in raw.get("alerts", ())}
    for body in alerts:
        parsed = orjson.loads(body)
        for document in parsed if isinstance(parsed, list) else (parsed,):
            documents[document["fingerprint"]] = document
    joined = {fingerprint: _alert_from(d) for fingerprint, d in documents.items()}
    return Incident(
        id=raw["id"],
        group_key=raw["group_key"],
        title=raw["title"],
        state=state,
        opened_at=opened_at,
        alerts=_in_joining_order(joined),
        version=raw["version"],
        category=raw["category"],
        service=raw["service"],
        impact=raw["impact"],
        urgency=raw["urgency"],
        priority=raw["priority"],
        team=raw["team"],
        route=raw["route"],
        policy=raw["policy"],
        assignee=raw["assignee"],
        acknowledged_at=_opt_instant(raw["acknowledged_at"]),
        resolved_at=_opt_instant(raw["resolved_at"]),
        closed_at=_opt_instant(raw["closed_at"]),
        flapping=raw["flapping"],
        stale_resolved=raw["stale_resolved"],
        held=raw["held"],
        muted=raw["muted"],
        public=raw["public"],
        components=tuple(raw["components"]),
        sweep_at=_sweep_at(raw, state, opened_at),
        # What the lifecycle records; absent from documents written before it existed.
        acknowledged_by=raw.get("acknowledged_by"),
        resolved_by=raw.get("resolved_by"),
        closed_by=raw.get("closed_by"),
        resolution_code=raw.get("resolution_code"),
        resolution_notes=raw.get("resolution_notes"),
        auto_resolved=raw.get("auto_resolved", False),
        hold_reason=raw.get("hold_reason"),
        on_hold_since=_opt_instant(raw.get("on_hold_since")),
        on_hold_total=timedelta(microseconds=raw.get("on_hold_total", 0)),
        reopen_count=max(raw.get("reopen_count", 0), reopened),
        state_changed_at=_opt_instant(raw.get("state_changed_at")),
        # Absent from documents written before tasks, problems and merges existed.
        tasks=tuple(_task_from(t) for t in raw.get("tasks", ())),
        problem_id=raw.get("problem_id"),
        merged_into=raw.get("merged_into"),
    )


# The state a reopened incident had before reopening went back to triggered, counted.
_FORMER_REOPENED = "reopened"


def _state(name: str) -> tuple[IncidentState, int]:
    """The state a document names, and 1 if it is the former ``reopened`` (reopened once).

    Reopen now goes back to triggered and counts in ``reopen_count``; a document written
    before reads as triggered, reopened at least once. It is written back that way on
    its next change.
    """
    if name == _FORMER_REOPENED:
        return IncidentState.TRIGGERED, 1
    return IncidentState(name), 0


def stored_state_names(states: Iterable[IncidentState]) -> list[str]:
    """The state names stored incidents in ``states`` may carry, former names included.

    A store that filters on a stored state column (SQLite) asks for these, so that an
    incident last written as ``reopened`` is found as the triggered one it is.
    """
    names = {state.value for state in states}
    if IncidentState.TRIGGERED.value in names:
        names.add(_FORMER_REOPENED)
    return sorted(names)


def _sweep_at(raw: dict[str, Any], state: IncidentState, opened_at: datetime) -> datetime | None:
    """Returns the document's sweep_at; for one written before the field existed, a guess.

    Nobody computed when such an incident needs the sweep, so an open one is due at
    once (its opening time, already past): the next sweep looks at it and sets a real
    value. Earlier than needed is harmless, later could miss an alert's end or a resolve
    delay. A resolved or closed one needs no sweep.
    """
    if "sweep_at" in raw:
        return _opt_instant(raw["sweep_at"])
    return opened_at if state in OPEN_STATES else None


def decode_alert(data: bytes | str) -> IncidentAlert:
    """Reads back an alert that :func:`encode_alert` wrote."""
    return _alert_from(orjson.loads(data))


def inline_alerts(data: bytes | str) -> list[bytes]:
    """Returns, each as its own document, the alerts an incident document holds inline.

    Only documents written before alerts were stored apart hold any; for one that
    :func:`encode_incident` wrote the list is empty.
    """
    return [orjson.dumps(a) for a in orjson.loads(data).get("alerts", ())]


def _in_joining_order(alerts: dict[str, IncidentAlert]) -> dict[str, IncidentAlert]:
    # The stores keep alerts by fingerprint, in no useful order; people read them in the
    # order they joined, which first_seen records (it never changes afterwards).
    ordered = sorted(alerts.values(), key=lambda a: (a.first_seen, a.fingerprint))
    return {a.fingerprint: a for a in ordered}


def _alert_from(raw: dict[str, Any]) -> IncidentAlert:
    """Reads one alert document, also one written before its source fields were kept.

    Such a document has no annotations, generator URL or source start (left empty and
    None: they were never stored), and its receipt times are read from ``first_seen`` and
    ``last_seen``, which recorded when the correlator applied the alert: the nearest
    record of receipt there is.
    """
    first_seen = _shared_instant[raw["first_seen"]]
    last_seen = _shared_instant[raw["last_seen"]]
    ends_at, starts_at = raw["ends_at"], raw.get("starts_at")
    return IncidentAlert(
        fingerprint=raw["fingerprint"],
        labels=raw["labels"],
        status=AlertStatus(raw["status"]),
        first_seen=first_seen,
        last_seen=last_seen,
        count=raw["count"],
        position=raw["position"],
        ends_at=None if ends_at is None else _shared_instant[ends_at],
        transitions=tuple(from_micros(t) for t in raw["transitions"]),
        muted_by=raw["muted_by"],
        annotations=raw.get("annotations", {}),
        generator_url=raw.get("generator_url", ""),
        starts_at=None if starts_at is None else _shared_instant[starts_at],
        first_received_at=_received(raw, "first_received_at", first_seen),
        last_received_at=_received(raw, "last_received_at", last_seen),
        expired=raw.get("expired", False),
        # Absent from documents written before the key was kept.
        dedup_key=raw.get("dedup_key"),
    )


def _received(raw: dict[str, Any], name: str, seen: datetime) -> datetime | None:
    """The receipt time ``name`` of an alert document; ``seen`` for one of the older layout."""
    if name not in raw:
        return seen
    value = raw[name]
    return None if value is None else _shared_instant[value]


def encode_event(event: IncidentEvent) -> bytes:
    """Serialises a timeline event."""
    return orjson.dumps(
        {
            "incident_id": event.incident_id,
            "at": micros(event.at),
            "actor": event.actor,
            "kind": event.kind,
            "detail": event.detail,
        }
    )


def decode_event(data: bytes | str) -> IncidentEvent:
    """Reads back a timeline event."""
    raw = orjson.loads(data)
    return IncidentEvent(
        raw["incident_id"], from_micros(raw["at"]), raw["actor"], raw["kind"], raw["detail"]
    )


def encode_silence(silence: Silence) -> bytes:
    """Serialises a silence."""
    return orjson.dumps(
        {
            "id": silence.id,
            "matchers": [[m.name, m.op, m.value] for m in silence.matchers],
            "starts_at": micros(silence.starts_at),
            "ends_at": micros(silence.ends_at),
            "created_by": silence.created_by,
            "comment": silence.comment,
            "created_at": micros(silence.created_at),
        }
    )


def decode_silence(data: bytes | str) -> Silence:
    """Reads back a silence."""
    raw = orjson.loads(data)
    return Silence(
        id=raw["id"],
        matchers=tuple(LabelMatcher(n, o, v) for n, o, v in raw["matchers"]),
        starts_at=from_micros(raw["starts_at"]),
        ends_at=from_micros(raw["ends_at"]),
        created_by=raw["created_by"],
        comment=raw["comment"],
        created_at=from_micros(raw["created_at"]),
    )
