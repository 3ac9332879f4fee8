"""A resolved incident closes itself after the rules' ``lifecycle.auto_close_after`` (issue 10).

The correlator's sweep finds resolved incidents through the sweep index (their
``sweep_at`` is their auto-close time, set by core.lifecycle when they resolve) and
closes them with ``auto_close``, by Tocsin; closed is final, so a later alert of the
group opens a new incident. Resolved incidents being swept changes nothing else: an
alert a person left firing expires as an open incident's does, nothing is released.
All on the injected clock, on both stores.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.incident import Incident, IncidentState
from core.lifecycle_requests import Close, Reopen, Resolve
from core.model import AlertStatus
from tests.correlate.harness import RULES, T0, Harness, alert, load_test_rules, make_harness
from tests.correlate.people import kinds, person, stream

RESOLVED = AlertStatus.RESOLVED
DB1 = {"alertname": "DiskFull", "service": "db", "instance": "db1"}
WEEK = timedelta(days=7)


async def _auto_resolved(h: Harness) -> Incident:
    """An incident whose one alert fired and resolved: resolved by Tocsin at T0 + 1 min."""
    await h.send(alert(T0, **DB1))
    h.advance(minutes=1)
    await h.send(alert(T0, RESOLVED, **DB1))
    incident = await h.only_incident()
    assert incident.state is IncidentState.RESOLVED
    return incident


# Whether a sweep came before the incident was due: the first sweep reads every open
# incident and the resolved ones due (SweepScope.resolved_due); later ones the due ones.
SWEPT_BEFORE = [
    # A sweep a second early saw it not due; the next, a due sweep, closes it.
    pytest.param(True, id="due-sweep"),
    # The first sweep ever (a full one) comes when it is due, and closes it.
    pytest.param(False, id="full-sweep"),
]


@pytest.mark.parametrize("swept_before", SWEPT_BEFORE)
async def test_a_resolved_incident_closes_itself_after_seven_days(
    harness_on_each: Harness, swept_before: bool
) -> None:
    h = harness_on_each
    resolved = await _auto_resolved(h)
    assert resolved.sweep_at == resolved.resolved_at + WEEK  # the sweep index finds it then
    h.clock.set(resolved.resolved_at + WEEK - timedelta(seconds=1))
    if swept_before:
        await h.correlator.sweep()
        assert (await h.only_incident()).state is IncidentState.RESOLVED
    h.clock.set(resolved.resolved_at + WEEK)
    await h.correlator.sweep()
    incident = await h.only_incident()
    assert incident.state is IncidentState.CLOSED
    assert (incident.closed_by, incident.closed_at) == ("tocsin", resolved.resolved_at + WEEK)
    assert incident.sweep_at is None  # never swept again
    [closed] = [e for e in await stream(h) if e.kind == "closed"]
    assert (closed.actor, closed.state, closed.version) == (
        "tocsin",
        IncidentState.CLOSED,
        incident.version,
    )
    assert closed.detail == {
        "from": "resolved",
        "to": "closed",
        "reason": "resolved for 7 days, 0:00:00",
        "automatic": True,
    }


async def test_a_person_resolved_incident_closes_itself_too(harness_on_each: Harness) -> None:
    h = harness_on_each
    await h.send(alert(T0, **DB1))  # no end, no resolve_timeout: nothing time-based pending
    opened = await h.only_incident()
    assert opened.sweep_at is None
    h.advance(minutes=1)
    resolved = await person(h, opened.id, Resolve("solved_permanently", "replaced the disk"))
    assert resolved.sweep_at == resolved.resolved_at + WEEK
    h.advance(minutes=2)
    await h.send(alert(T0, **DB1))  # a resend keeps the auto-close time
    assert (await h.only_incident()).sweep_at == resolved.resolved_at + WEEK
    h.clock.set(resolved.resolved_at + WEEK)
    await h.correlator.sweep()
    assert (await h.only_incident()).state is IncidentState.CLOSED


# What becomes of a closed incident's group when one of its alerts comes again: (the
# alert's status, whether a new incident opens).
AFTER_CLOSE = [
    # The alert fires again (even an unchanged resend): a new incident; closed is final.
    pytest.param(AlertStatus.FIRING, True, id="firing-opens-new"),
    # A late resolve of it: nothing to resolve, no new incident.
    pytest.param(RESOLVED, False, id="resolve-ignored"),
]


@pytest.mark.parametrize(("status", "opens"), AFTER_CLOSE)
async def test_closed_is_final(harness_on_each: Harness, status: AlertStatus, opens: bool) -> None:
    h = harness_on_each
    resolved = await _auto_resolved(h)
    h.clock.set(resolved.resolved_at + WEEK)
    await h.correlator.sweep()
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), status, **DB1))
    incidents = await h.incidents()
    assert incidents[0].state is IncidentState.CLOSED
    assert "reopened" not in await h.timeline(incidents[0])
    assert len(incidents) == (2 if opens else 1)
    if opens:
        assert incidents[1].state is IncidentState.TRIGGERED
        assert incidents[1].group_key == incidents[0].group_key


# The rules' lifecycle.auto_close_after: how long a resolved incident waits, or never.
DELAYS = [
    # One day: closes after a day.
    pytest.param("1d", timedelta(days=1), id="1d"),
    # 0s: never closes (ServiceNow's 0), and is never due for the sweep.
    pytest.param("0s", None, id="never"),
]


@pytest.mark.parametrize(("setting", "after"), DELAYS)
async def test_the_rules_say_when(
    harness_on_each: Harness, tmp_path: Path, setting: str, after: timedelta | None
) -> None:
    rules = load_test_rules(tmp_path, RULES + f"lifecycle:\n  auto_close_after: {setting}\n")
    h = make_harness(harness_on_each.store, rules)
    resolved = await _auto_resolved(h)
    if after is None:
        assert resolved.sweep_at is None
        h.clock.set(resolved.resolved_at + timedelta(days=30))
        await h.correlator.sweep()
        assert (await h.only_incident()).state is IncidentState.RESOLVED
        return
    h.clock.set(resolved.resolved_at + after - timedelta(seconds=1))
    await h.correlator.sweep()
    assert (await h.only_incident()).state is IncidentState.RESOLVED
    h.clock.set(resolved.resolved_at + after)
    await h.correlator.sweep()
    assert (await h.only_incident()).state is IncidentState.CLOSED


async def test_closed_or_reopened_by_a_person_before_it_is_due(harness_on_each: Harness) -> None:
    h = harness_on_each
    first = await _auto_resolved(h)
    closed = await person(h, first.id, Close("confirmed with the db team"))
    assert (closed.state, closed.closed_by, closed.sweep_at) == (IncidentState.CLOSED, "ana", None)
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), **DB1))  # a new incident: closed is final
    _, second = await h.incidents()
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), RESOLVED, **DB1))  # of this episode: no late copy
    h.advance(minutes=1)
    second = await person(h, second.id, Reopen("the disk fills again"))
    h.clock.set(T0 + 2 * WEEK)
    await h.correlator.sweep()
    assert [i.state for i in await h.incidents()] == [
        IncidentState.CLOSED,
        IncidentState.TRIGGERED,  # reopened: open, not closed, whatever its old due time
    ]
    # The timeline: the stream kept no more than a week (KEEP_INCIDENT_EVENTS).
    assert (await h.timeline(closed)).count("closed") == 1  # the person's only


async def test_an_alert_left_firing_expires_on_the_resolved_incident(
    harness_on_each: Harness,
) -> None:
    h = harness_on_each
    ends = T0 + timedelta(minutes=4)
    await h.send(alert(T0, ends_at=ends, **DB1))
    opened = await h.only_incident()
    h.advance(minutes=1)
    resolved = await person(h, opened.id, Resolve("solved_workaround", "restarted by hand"))
    assert resolved.sweep_at == ends  # the alert's end comes before the auto-close
    h.clock.set(ends + timedelta(seconds=5))
    await h.correlator.sweep()
    incident = await h.only_incident()
    assert (incident.state, incident.resolved_by) == (IncidentState.RESOLVED, "ana")
    [expired] = incident.alerts.values()
    assert (expired.status, expired.expired) == (RESOLVED, True)
    assert incident.sweep_at == resolved.resolved_at + WEEK
    assert kinds(await stream(h), incident)[-1] == "alert_expired"
    # Firing again now is a new firing transition: within the window, a reopen.
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), ends_at=h.clock.now() + timedelta(minutes=4), **DB1))
    reopened = await h.only_incident()
    assert (reopened.state, reopened.reopen_count) == (IncidentState.TRIGGERED, 1)
