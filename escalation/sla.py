"""The SLA clocks' decisions, as pure functions of a document, an input and the time.

Inputs are stream events (:func:`on_event`) and the document's timer falling due
(:func:`on_due`); the output is the incident's new :class:`~escalation.sla_state.SlaState`,
the pages to put in the outbox and the timeline notes to write. Nothing here reads a
clock or a store: the same inputs give the same outcome, so a stage that repeats a
batch after a crash writes the same outbox keys and fires each threshold once.

The rules (ITIL's stopwatches, shared/reference/itil.md):

- both clocks start with the incident's first event; the targets are the rules'
  ``priority.sla`` for its priority (none: that clock is not kept);
- on hold pauses both clocks: every threshold moves later by the time on hold;
- acknowledging stops time to acknowledge; resolving or closing stops both;
- a change of priority takes the new priority's targets (a threshold is handled once
  per priority, so a raised priority's earlier thresholds fire at once);
- reopening (triggered after resolved or closed) starts a new cycle, both clocks at 0;
  triggered again after an acknowledgement (a re-trigger, a manual escalation) keeps
  time to acknowledge as it stood: it was met or missed when first acknowledged;
- each warning (``warn_at``) and the breach (100 %) fire once: a note ``sla_warning`` or
  ``sla_breached`` and pages to the rules' functional and hierarchical escalation
  (``escalation.sla_pages``). A warning reached together with the breach (the stage
  was behind, or the priority rose) is noted as superseded and not paged. A threshold
  that was reached before an event that stopped its clock, but handled only with that
  event, is noted at the time it was reached and pages nobody: it is too late to help.
  Nor does a muted or held incident page anyone (the clocks run; the notes say why).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core.incident import IncidentState
from core.store.events import StreamEvent, TimelineNote
from core.timestamps import format_rfc3339
from escalation.sla_pages import SlaPage, describe, recipients, sla_page
from escalation.sla_state import LOG_KEPT, ClockName, ClockRun, SlaState, Threshold
from escalation.state import Decision
from escalation.timeline import SLA_BREACHED, SLA_WARNING
from rules.durations import format_duration
from rules.model import Rules
from rules.priority import SlaTarget

_STOPPING = frozenset({IncidentState.RESOLVED, IncidentState.CLOSED})
_STOPPED_STATES = frozenset({IncidentState.RESOLVED.value, IncidentState.CLOSED.value})
ACTOR = "sla"
# The targets' texts: a handful of durations, written for every incident that starts.
_target_text = functools.lru_cache(maxsize=256)(format_duration)


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    """The clocks after one input (None: none are kept), their pages and notes."""

    state: SlaState | None
    pages: tuple[SlaPage, ...] = ()
    notes: tuple[TimelineNote, ...] = ()


@dataclass(frozen=True, slots=True)
class _Reached:
    """A threshold reached at ``at``: paged (``page``) or only noted."""

    at: datetime
    clock: ClockName
    threshold: Threshold
    page: bool = True


def on_event(
    current: SlaState | None, event: StreamEvent, rules: Rules, now: datetime, title: str = ""
) -> SlaOutcome:
    """Applies one stream event of the incident to its clocks."""
    if current is None:
        if event.state in _STOPPING:
            return SlaOutcome(None)
        return SlaOutcome(_start(event, rules, title, 1))
    # Thresholds reached before the event and not handled yet (the stage was behind):
    # handled under the priority and cycle they were reached in, paged only if their
    # clock still runs after the event.
    behind = _reached(current, event.at)
    changed = _apply(current, event, rules)
    if not behind:
        return SlaOutcome(changed)
    running = {n for n, run in changed.clocks.items() if run.stopped_at is None}
    behind = [replace(r, page=r.clock in running) for r in behind]
    pages, notes, entries = _fire(current, behind, rules, now)
    if changed.cycle == current.cycle:
        changed = _mark(changed, current, behind)
    log = (*changed.log, *entries)[-LOG_KEPT:]
    return SlaOutcome(replace(changed, log=log), pages, notes)


def on_due(current: SlaState, rules: Rules, now: datetime) -> SlaOutcome:
    """Fires the thresholds reached by ``now`` (nothing if none is)."""
    reached = _reached(current, now)
    if not reached:
        return SlaOutcome(current)
    pages, notes, entries = _fire(current, reached, rules, now)
    marked = _mark(current, current, reached)
    return SlaOutcome(replace(marked, log=(*marked.log, *entries)[-LOG_KEPT:]), pages, notes)


def _start(event: StreamEvent, rules: Rules, title: str, cycle: int) -> SlaState:
    """Clocks starting at the event; already acknowledged or on hold if it says so."""
    clocks = _targets(rules, event.priority, {})
    if event.state is IncidentState.ACKNOWLEDGED and ClockName.ACKNOWLEDGE in clocks:
        clocks[ClockName.ACKNOWLEDGE] = clocks[ClockName.ACKNOWLEDGE].stopped(event.at)
    state = SlaState(
        event.incident_id,
        cycle,
        event.at,
        event.at if event.state is IncidentState.ON_HOLD else None,
        (),
        clocks,
        event.state.value,
        event.priority,
        event.team,
        event.service,
        event.assignee,
        title,
        muted=event.muted,
        held=event.held,
    )
    kept = _targets_text(clocks)
    reason = f"cycle {cycle}, priority {event.priority}: {kept}"
    return replace(state, log=state.noted(event.at, "started", reason))


def _targets(
    rules: Rules, priority: str | None, kept: Mapping[ClockName, ClockRun]
) -> dict[ClockName, ClockRun]:
    """The clocks of ``priority``'s targets, keeping stop times and handled thresholds."""
    level = priority[1:] if priority and priority.startswith("P") else ""
    target: SlaTarget | None = None
    if level.isascii() and level.isdigit():
        target = rules.priority.sla_for(int(level))
    clocks: dict[ClockName, ClockRun] = {}
    if target is not None:
        for name, clock in (
            (ClockName.ACKNOWLEDGE, target.acknowledge),
            (ClockName.RESOLVE, target.resolve),
        ):
            if clock is not None:
                clocks[name] = ClockRun.of(clock, kept.get(name))
    return clocks


def _targets_text(clocks: Mapping[ClockName, ClockRun]) -> str:
    """``targets acknowledge 5m, resolve 1h`` (or ``no targets``) for the log."""
    if not clocks:
        return "no targets"
    return "targets " + ", ".join(f"{n} {_target_text(r.within)}" for n, r in clocks.items())


def _apply(state: SlaState, event: StreamEvent, rules: Rules) -> SlaState:
    """The clocks after the event's state, hold and priority (no threshold is fired)."""
    if _unchanged(state, event):
        return state
    at = event.at
    before = state.incident_state
    if event.state is IncidentState.TRIGGERED and before in _STOPPED_STATES:
        fresh = _start(event, rules, state.title, state.cycle + 1)
        return replace(fresh, log=(*state.log, *fresh.log)[-LOG_KEPT:])
    seen = replace(
        state,
        incident_state=event.state.value,
        team=event.team,
        service=event.service,
        assignee=event.assignee,
        muted=event.muted,
        held=event.held,
    )
    log: list[tuple[str, str]] = []
    if event.priority != state.priority:
        seen = replace(
            seen, priority=event.priority, clocks=_targets(rules, event.priority, seen.clocks)
        )
        targets = _targets_text(seen.clocks)
        log.append(("recomputed", f"priority {state.priority} -> {event.priority}: {targets}"))
    if seen.paused_since is None and event.state is IncidentState.ON_HOLD:
        seen = replace(seen, paused_since=at)
        log.append(("paused", f"on hold ({event.actor}): clocks paused"))
    elif seen.paused_since is not None and event.state is not IncidentState.ON_HOLD:
        held = max(at - seen.paused_since, timedelta(0))
        holds = (*seen.holds, (seen.paused_since, at))
        seen = replace(seen, paused_since=None, holds=holds)
        again = f"{event.state.value} after {format_duration(held)} on hold: clocks run again"
        log.append(("resumed", again))
    stopping: tuple[ClockName, ...] = ()
    if event.state in _STOPPING:
        stopping = tuple(ClockName)
    elif event.state is IncidentState.ACKNOWLEDGED:
        stopping = (ClockName.ACKNOWLEDGE,)
    clocks = dict(seen.clocks)
    for name in stopping:
        run = clocks.get(name)
        if run is None or run.stopped_at is not None:
            continue
        clocks[name] = run.stopped(at)
        elapsed = seen.elapsed(at)
        verdict = "met" if elapsed <= run.within else "missed"
        took = f"{format_duration(elapsed)} of {format_duration(run.within)}"
        log.append(("stopped", f"{name.value} {verdict}: {took} ({event.state} by {event.actor})"))
    entries = seen.log
    for what, reason in log:
        entries = (*entries, Decision(at, what, reason))
    return replace(seen, clocks=clocks, log=entries[-LOG_KEPT:])


def _unchanged(state: SlaState, event: StreamEvent) -> bool:
    """Tells whether the event changes nothing the clocks keep (most events: alerts
    joining, categorising), so that applying it would give ``state`` back."""
    if (
        event.state.value != state.incident_state
        or event.priority != state.priority
        or event.team != state.team
        or event.service != state.service
        or event.assignee != state.assignee
        or event.muted != state.muted
        or event.held != state.held
        or (state.paused_since is None) != (event.state is not IncidentState.ON_HOLD)
    ):
        return False
    if event.state in _STOPPING:
        stopping: tuple[ClockName, ...] = tuple(ClockName)
    elif event.state is IncidentState.ACKNOWLEDGED:
        stopping = (ClockName.ACKNOWLEDGE,)
    else:
        return True
    return all(
        run.stopped_at is not None for n in stopping if (run := state.clocks.get(n)) is not None
    )


def _reached(state: SlaState, by: datetime) -> list[_Reached]:
    """The thresholds of running clocks reached by ``by``, not handled yet, oldest first."""
    found: list[_Reached] = []
    for name in ClockName:
        for threshold in state.pending(name):
            due = state.due_of(threshold)
            if due is not None and due <= by:
                found.append(_Reached(due, name, threshold))
    return sorted(found, key=lambda r: (r.at, r.clock.value, r.threshold.elapsed))


def _mark(state: SlaState, view: SlaState, reached: list[_Reached]) -> SlaState:
    """``state`` with ``reached`` handled, named as ``view`` (their priority) names them."""
    clocks = dict(state.clocks)
    for item in reached:
        run = clocks.get(item.clock)
        label = view.label(item.threshold)
        if run is not None and label not in run.handled:
            clocks[item.clock] = replace(run, handled=(*run.handled, label))
    return replace(state, clocks=clocks)


def _fire(
    view: SlaState, reached: list[_Reached], rules: Rules, now: datetime
) -> tuple[tuple[SlaPage, ...], tuple[TimelineNote, ...], tuple[Decision, ...]]:
    """The pages, notes and log entries of ``reached``, as the clocks ``view`` had them."""
    breached = {r.clock for r in reached if r.threshold.breach}
    pages: list[SlaPage] = []
    notes: list[TimelineNote] = []
    log: list[Decision] = []
    for item in reached:
        run = view.clocks[item.clock]
        superseded = item.clock in breached and not item.threshold.breach
        detail: dict[str, Any] = {
            "clock": item.clock.value,
            "threshold": round(item.threshold.elapsed / run.within, 6),
            "name": item.threshold.name,
            "priority": view.priority,
            "target": _target_text(run.within),
            "elapsed": format_duration(item.threshold.elapsed),
            "due": format_rfc3339(item.at),
            "cycle": view.cycle,
            "paged": [],
        }
        why: list[str] = []
        if superseded:
            why.append("superseded by the breach reached at the same time")
        elif not item.page:
            why.append("its clock stopped before the stage handled it")
        elif view.muted or view.held:
            why.append(f"the incident is {'muted' if view.muted else 'held'}: nobody is paged")
        else:
            found, missing = recipients(rules, view, item.threshold, now)
            why.extend(missing)
            for target in found:
                pages.append(sla_page(view, item.clock, item.threshold, target, now, run.within))
            detail["paged"] = [f"{p or '-'} on {c}" for p, c, _ in found]
        detail["not_paged"] = why
        kind = SLA_BREACHED if item.threshold.breach else SLA_WARNING
        notes.append(TimelineNote(view.incident_id, kind, item.at, ACTOR, detail))
        summary = ", ".join(detail["paged"]) or "nobody"
        reason = f"{item.clock.value} {describe(item.threshold, run.within)}: paged {summary}"
        if why:
            reason += f" ({'; '.join(why)})"
        log.append(Decision(item.at, kind, reason))
    return tuple(pages), tuple(notes), tuple(log)
