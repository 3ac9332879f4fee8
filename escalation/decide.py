"""The escalation decisions, as pure functions of a document, an input and the time.

Inputs are stream events (:func:`on_event`) and due timers (:func:`on_due`); the output
is the incident's new :class:`~escalation.state.Escalation` and the pages to put in the
outbox. Nothing here reads a clock or a store: the same inputs give the same outcome,
which is what makes a consumer killed mid-batch and restarted page each step once.

The rules:

- escalation starts with an incident's first event while it is triggered: its policy is
  copied and the first page waits for the route's ``group_wait`` (from ``opened``);
- a step that falls due while the incident is muted, held or on hold pages nobody and
  waits; unmuted while still triggered, it pages at once;
- an acknowledgement stops escalation; the copied policy's ``ack_timeout`` after it,
  if the incident is still acknowledged, asks for the lifecycle's ``retrigger``
  (``Outcome.retrigger``; ``escalation.retrigger``), and its ``retriggered`` event
  pages again from the first level;
- a person's ``escalate`` (its ``escalated`` event) pages the next level now, in a new
  generation (the pending timer is then stale); an exhausted policy pages its last level;
- resolving or closing stops everything; reopening starts again from the first level;
- after each page the next level is due after the paged level's ``delay``; after the
  last level the policy starts again ``repeat`` more times, then stops (exhausted);
- a timer carrying an older generation than the document does nothing.

- a low-urgency incident limited to support hours waits for them (logged with the time);
- updates about an incident already paged (alerts joining, resolving) go to those paged
  at most once per route ``group_interval``, and a flapping incident pages once
  (``escalation.updates``).

Every decision not to page is logged in the document with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from core.incident import IncidentState
from core.store.events import StreamEvent
from escalation.oncall_reach import target_people
from escalation.page import Page
from escalation.state import LOG_KEPT, Decision, Escalation, Phase, PolicyCopy
from escalation.support_hours import next_support_instant
from escalation.update_flush import Incident as UpdateIncident
from escalation.update_flush import Notice, flush
from escalation.updates import ALERT_CHANGES, WhenState, changed, paged, stopped
from rules.model import Rules
from rules.policies import Target, TargetKind
from rules.routing import find_route

_STOPPING = frozenset({IncidentState.RESOLVED, IncidentState.CLOSED})


@dataclass(frozen=True, slots=True)
class Outcome:
    """An escalation after one input (None: there is none) and the pages it sends."""

    escalation: Escalation | None
    pages: tuple[Page, ...] = ()
    # The acknowledgement timed out: the stage triggers the incident again (retrigger).
    retrigger: bool = False
    notices: tuple[Notice, ...] = ()  # updates to those already paged


def on_event(
    current: Escalation | None,
    event: StreamEvent,
    rules: Rules,
    now: datetime,
    title: str = "",
    urgency: int | None = None,
) -> Outcome:
    """Applies one stream event of the incident to its escalation.

    ``title`` and ``urgency`` are the incident's, read by the caller for a first event.
    """
    if current is None:
        return Outcome(_start(event, rules, title, urgency))
    seen = _seen(current, event, rules)
    if event.kind == "flapping" and not seen.when.flapping:
        reason = "flapping: pages once; its alerts' back and forth is not sent as updates"
        seen = replace(
            seen,
            when=replace(seen.when, flapping=True),
            log=seen.noted(event.at, "flapping", reason),
        )
    if event.state in _STOPPING:
        when = stopped(seen.when, event.at)
        if event.state is IncidentState.RESOLVED and current.incident_state not in _ENDED:
            when = changed(when, "resolved", event.at, {})
        seen = replace(seen, when=when)
        if current.phase is Phase.STOPPED:
            return Outcome(seen)
        reason = f"{event.state.value} by {event.actor}: escalation stops"
        return Outcome(_stop(seen, Phase.STOPPED, None, event.at, reason))
    if event.state is IncidentState.ACKNOWLEDGED and (
        event.kind == "acknowledged" or current.incident_state != IncidentState.ACKNOWLEDGED.value
    ):
        timeout = None if seen.policy is None else seen.policy.ack_timeout
        due = None if timeout is None else event.at + timeout
        reason = f"acknowledged by {event.actor}: escalation stops"
        if due is not None:
            reason += f"; pages again at {due.isoformat()} if still acknowledged"
        seen = replace(seen, when=stopped(seen.when, event.at))
        return Outcome(_stop(seen, Phase.ACKNOWLEDGED, due, event.at, reason))
    if event.kind == "escalated" and event.state is IncidentState.TRIGGERED:
        return _escalated(seen, event, rules, now)
    if event.state is IncidentState.TRIGGERED and current.incident_state in _RESTARTING:
        before = current.incident_state
        if seen.when.flapping and seen.when.paged and before != IncidentState.ACKNOWLEDGED.value:
            return Outcome(_flap_reopen(seen, event, now))
        reason = f"{event.kind} by {event.actor} ({before} before): paging from level 1"
        return _fire(_restart(seen, now, reason), rules, now)
    if (
        current.phase is Phase.MUTED
        and not seen.suppressed
        and event.state is IncidentState.TRIGGERED
    ):
        restarted = replace(
            seen,
            phase=Phase.PAGING,
            generation=seen.generation + 1,
            log=seen.noted(now, "unmuted", "no longer muted or held while firing: pages now"),
        )
        return _fire(restarted, rules, now)
    if event.kind in ALERT_CHANGES and event.state.value not in _ENDED:
        seen = replace(seen, when=changed(seen.when, event.kind, event.at, event.detail))
    return Outcome(seen)


_ENDED = frozenset({IncidentState.RESOLVED.value, IncidentState.CLOSED.value})


def _seen(current: Escalation, event: StreamEvent, rules: Rules) -> Escalation:
    """The escalation with the incident's fields as the event tells them (``current``
    itself when none changed, as for most events: no copy to make)."""
    when = _seen_for_support(current.when, event, rules)
    if (
        when is current.when
        and current.incident_state == event.state.value
        and current.muted == event.muted
        and current.held == event.held
        and current.priority == event.priority
        and current.service == event.service
    ):
        return current
    return replace(
        current,
        incident_state=event.state.value,
        muted=event.muted,
        held=event.held,
        priority=event.priority,
        service=event.service,
        when=when,
    )


_RESTARTING = frozenset(
    {IncidentState.RESOLVED.value, IncidentState.CLOSED.value, IncidentState.ACKNOWLEDGED.value}
)


def on_due(current: Escalation, generation: int, rules: Rules, now: datetime) -> Outcome:
    """Acts on the escalation's timer of ``generation`` falling due at ``now``.

    A timer of an older generation, or one not yet due, does nothing.
    """
    if generation != current.generation or current.due is None or current.due > now:
        return Outcome(current)
    if current.phase is Phase.ACKNOWLEDGED:
        if current.incident_state != IncidentState.ACKNOWLEDGED.value:
            return Outcome(replace(current, due=None))
        timeout = current.policy.ack_timeout if current.policy else None
        reason = f"still acknowledged {timeout} after the acknowledgement: triggered again"
        waiting = replace(current, due=None, log=current.noted(now, "retrigger", reason))
        return Outcome(waiting, retrigger=True)
    if current.phase in (Phase.WAITING, Phase.PAGING):
        return _fire(current, rules, now)
    return Outcome(replace(current, due=None))


def on_updates_due(current: Escalation, rules: Rules, now: datetime) -> Outcome:
    """Sends the escalation's pending update if it is due (see ``escalation.updates``)."""
    if current.when.due is None or current.when.due > now:
        return Outcome(current)
    view = UpdateIncident(
        current.incident_id,
        current.generation,
        current.title,
        current.incident_state,
        current.priority,
        current.service,
        _suppression(current) if current.suppressed else None,
    )
    done = flush(current.when, view, rules, now)
    log = current.log
    for what, reason in done.log:
        log = (*log, Decision(now, what, reason))
    return Outcome(replace(current, when=done.when, log=log[-LOG_KEPT:]), notices=done.notices)


def _suppression(escalation: Escalation) -> str:
    """Why a suppressed escalation pages nobody."""
    return "muted" if escalation.muted else "held" if escalation.held else "on hold"


def _flap_reopen(escalation: Escalation, event: StreamEvent, now: datetime) -> Escalation:
    """A flapping incident reopened: nobody is paged again; escalation goes on after level 1.

    The first level was paged already (a flapping incident pages once); if nobody
    acknowledges, the next level is due after the first level's delay, as it was.
    """
    reason = (
        f"{event.kind} by {event.actor} while flapping: level 1 was paged already "
        "and is not paged again (a flapping incident pages once)"
    )
    again = replace(
        escalation,
        phase=Phase.PAGING,
        generation=escalation.generation + 1,
        level=0,
        repeat=0,
        log=escalation.noted(now, "not_paged", reason),
    )
    policy = again.policy
    if policy is None or not policy.levels:
        return replace(again, phase=Phase.STOPPED, due=None)
    return _advance(again, now + policy.levels[0].delay)


def _support_instant(rules: Rules, escalation: Escalation, now: datetime) -> datetime | None:
    """When support hours let the escalation page, if not now (None: it pages now)."""
    view = _SupportView(
        escalation.service, escalation.when.team, escalation.when.urgency, escalation.priority
    )
    found = next_support_instant(rules, view, now)
    return found if found is not None and found > now else None


def _seen_for_support(when: WhenState, event: StreamEvent, rules: Rules) -> WhenState:
    """The team and urgency support hours look at, as the event tells them."""
    urgency = when.urgency
    raised = event.detail.get("urgency") if event.kind == "priority_raised" else None
    if isinstance(raised, dict) and isinstance(raised.get("to"), str):
        urgency = rules.priority.matrix.urgency_level(raised["to"]) or urgency
    if event.team == when.team and urgency == when.urgency:
        return when
    return replace(when, team=event.team, urgency=urgency)


@dataclass(frozen=True, slots=True)
class _SupportView:
    """The incident as support hours see it."""

    service: str | None
    team: str | None
    urgency: int | None
    priority: str | None


def _start(
    event: StreamEvent, rules: Rules, title: str, urgency: int | None = None
) -> Escalation | None:
    """The escalation a first event begins, or None if the incident needs none."""
    if event.state is not IncidentState.TRIGGERED:
        return None
    policy = rules.escalation_policies.get(event.policy or "")
    route_key = event.detail.get("route")
    route = find_route(rules.route, route_key) if isinstance(route_key, str) else None
    wait = (route or rules.route).group_wait
    interval = (route or rules.route).group_interval
    started = Escalation(
        event.incident_id,
        None if policy is None else PolicyCopy.of(policy),
        Phase.WAITING,
        1,
        0,
        0,
        event.at + wait,
        event.state.value,
        event.muted,
        event.held,
        title,
        event.service,
        event.priority,
        when=WhenState(group_interval=interval, team=event.team, urgency=urgency),
    )
    if policy is None:
        reason = f"no escalation policy (named {event.policy!r}): nobody is paged"
        return _stop(started, Phase.STOPPED, None, event.at, reason)
    return replace(
        started,
        log=started.noted(
            event.at,
            "started",
            f"policy {policy.name} copied; first page after group_wait {wait}",
        ),
    )


def _escalated(escalation: Escalation, event: StreamEvent, rules: Rules, now: datetime) -> Outcome:
    """A person escalated by hand: the next level is paged now, in a new generation."""
    policy = escalation.policy
    if policy is None or not policy.levels or escalation.phase is Phase.STOPPED:
        reason = f"escalated by {event.actor}, but no escalation policy runs: nobody is paged"
        return Outcome(replace(escalation, log=escalation.noted(now, "not_paged", reason)))
    reason = f"escalated by {event.actor}: level {escalation.level + 1} is paged now"
    return _fire(
        replace(
            escalation,
            phase=Phase.PAGING,
            generation=escalation.generation + 1,
            due=now,
            log=escalation.noted(now, "escalated", reason),
        ),
        rules,
        now,
    )


def _stop(
    escalation: Escalation, phase: Phase, due: datetime | None, at: datetime, reason: str
) -> Escalation:
    """Stops paging: a new generation so that pending timers do nothing."""
    return replace(
        escalation,
        phase=phase,
        due=due,
        generation=escalation.generation + 1,
        log=escalation.noted(at, "stopped" if phase is Phase.STOPPED else phase.value, reason),
    )


def _restart(escalation: Escalation, now: datetime, reason: str) -> Escalation:
    """Starts the policy again from its first level, due now, in a new generation."""
    return replace(
        escalation,
        phase=Phase.PAGING,
        generation=escalation.generation + 1,
        level=0,
        repeat=0,
        due=now,
        log=escalation.noted(now, "restarted", reason),
    )


def _fire(escalation: Escalation, rules: Rules, now: datetime) -> Outcome:
    """Pages the escalation's next level now, or records why it does not."""
    policy = escalation.policy
    if policy is None or not policy.levels:
        return Outcome(_stop(escalation, Phase.STOPPED, None, now, "no levels to page"))
    if escalation.suppressed:
        why = "muted" if escalation.muted else "held" if escalation.held else "on hold"
        reason = f"{why}: level {escalation.level + 1} not paged; pages when no longer {why}"
        return Outcome(
            replace(
                escalation,
                phase=Phase.MUTED,
                due=None,
                log=escalation.noted(now, "not_paged", reason),
            )
        )
    opens = _support_instant(rules, escalation, now)
    if opens is not None:
        reason = (
            f"outside support hours: level {escalation.level + 1} not paged; "
            f"pages at {opens.isoformat()}"
        )
        return Outcome(
            replace(escalation, due=opens, log=escalation.noted(now, "not_paged", reason))
        )
    level = policy.levels[escalation.level]
    pages, log = _level_pages(escalation, level.targets, rules, now)
    current = rules.escalation_policies.get(policy.name)
    if current is None or not policy.same_as(current):
        note = f"rules reloaded: policy {policy.name} changed; this escalation keeps its copy"
        log.append(("rules_reloaded", note))
    entries = escalation.log
    for what, reason in log:
        entries = (*entries, Decision(now, what, reason))
    advanced = _advance(escalation, now + level.delay)
    when = paged(advanced.when, pages, now)
    return Outcome(replace(advanced, log=entries[-LOG_KEPT:], when=when), pages)


def _advance(escalation: Escalation, due: datetime) -> Escalation:
    """Moves to the step after the level just paged: the next level, a repeat, or the end."""
    assert escalation.policy is not None
    policy = escalation.policy
    if escalation.level + 1 < len(policy.levels):
        return replace(escalation, phase=Phase.PAGING, level=escalation.level + 1, due=due)
    if escalation.repeat < policy.repeat:
        return replace(
            escalation, phase=Phase.PAGING, level=0, repeat=escalation.repeat + 1, due=due
        )
    return replace(escalation, phase=Phase.EXHAUSTED, due=None)


def _level_pages(
    escalation: Escalation, targets: tuple[Target, ...], rules: Rules, now: datetime
) -> tuple[tuple[Page, ...], list[tuple[str, str]]]:
    """The pages of one level's targets, and the log entries saying what happened."""
    pages: list[Page] = []
    log: list[tuple[str, str]] = []
    reached: list[str] = []
    where = f"level {escalation.level + 1} (repeat {escalation.repeat})"
    for target in targets:
        if target.kind is TargetKind.CHANNEL:
            if target.name not in rules.channels:
                log.append(("not_paged", f"{where}: {target} no longer in the rules"))
                continue
            pages.append(_page(escalation, None, target.name, "", now))
            continue
        if not _known(target, rules):
            log.append(("not_paged", f"{where}: {target} no longer in the rules"))
            continue
        people = target_people(rules, target, now)
        if not people:
            log.append(("not_paged", f"{where}: {target} reaches nobody now"))
        for name in people:
            if name in reached:
                continue
            reached.append(name)
            person = rules.people.get(name)
            if person is None or not person.contacts:
                log.append(("not_paged", f"{where}: person {name} has no contact method"))
                continue
            for contact in person.contacts:
                pages.append(
                    _page(escalation, name, contact.channel, contact.address, now + contact.delay)
                )
    if pages:
        names = ", ".join(f"{p.person or '-'} on {p.channel}" for p in pages)
        log.insert(0, ("paged", f"{where}: {names}"))
    return tuple(pages), log


def _known(target: Target, rules: Rules) -> bool:
    """Tells whether the rules still define the person, team or schedule ``target`` names."""
    if target.kind is TargetKind.PERSON:
        return target.name in rules.people
    if target.kind is TargetKind.TEAM:
        return target.name in rules.teams
    return target.name in rules.schedules


def _page(
    escalation: Escalation, person: str | None, channel: str, address: str, send_at: datetime
) -> Page:
    """One outbox entry of the escalation's current step."""
    return Page(
        escalation.incident_id,
        escalation.generation,
        escalation.level,
        escalation.repeat,
        person,
        channel,
        address,
        send_at,
        escalation.title,
        escalation.incident_state,
        escalation.priority,
        escalation.service,
    )
