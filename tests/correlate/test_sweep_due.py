"""When the sweep must next look at an incident: exact, and from a step's changes (never later)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.incident import Incident, IncidentAlert, IncidentState
from core.model import AlertStatus
from correlate.sweep_due import alert_expiry, next_sweep, sweep_after_step
from rules.correlation import Tuning

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
TUNING = Tuning(
    resolve_timeout=timedelta(minutes=30),
    resolve_delay=timedelta(minutes=1),
    flap_hold_down=timedelta(minutes=5),
)


def alert(fp: str, status: AlertStatus = AlertStatus.FIRING, **changes: object) -> IncidentAlert:
    """A firing alert seen at T0 that ends at T0 + 4 min unless ``changes`` say otherwise."""
    base = IncidentAlert(
        fingerprint=fp,
        labels={"alertname": fp},
        status=status,
        first_seen=T0,
        last_seen=T0,
        count=1,
        position="1",
        ends_at=T0 + timedelta(minutes=4),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def incident(*alerts: IncidentAlert, **changes: object) -> Incident:
    """An open incident holding ``alerts``, opened at T0."""
    base = Incident(
        id="i1",
        group_key="g",
        title="t",
        state=IncidentState.TRIGGERED,
        opened_at=T0,
        alerts={a.fingerprint: a for a in alerts},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_firing_alert_expires_at_its_end_or_after_the_resolve_timeout() -> None:
    assert alert_expiry(TUNING, alert("a")) == T0 + timedelta(minutes=4)
    assert alert_expiry(TUNING, alert("a", ends_at=None)) == T0 + timedelta(minutes=30)
    assert alert_expiry(Tuning(), alert("a", ends_at=None)) is None
    assert alert_expiry(TUNING, alert("a", AlertStatus.RESOLVED)) is None


def test_next_sweep_is_the_earliest_alert_end() -> None:
    later = alert("b", ends_at=T0 + timedelta(minutes=9))
    assert next_sweep(TUNING, incident(alert("a"), later), T0) == T0 + timedelta(minutes=4)


def test_next_sweep_waits_the_resolve_delay_or_the_flap_hold_down() -> None:
    resolved = incident(alert("a", AlertStatus.RESOLVED))
    changed = T0 + timedelta(minutes=2)
    assert next_sweep(TUNING, resolved, changed) == changed + timedelta(minutes=1)
    flapping = replace(resolved, flapping=True)
    assert next_sweep(TUNING, flapping, changed) == changed + timedelta(minutes=5)


def test_next_sweep_releases_a_held_incident_after_the_hold_duration() -> None:
    tuning = replace(TUNING, hold_duration=timedelta(minutes=2))
    held = incident(alert("a"), held=True)
    assert next_sweep(tuning, held, T0) == T0 + timedelta(minutes=2)


def test_nothing_to_sweep_on_a_closed_incident_or_one_without_deadlines() -> None:
    closed = incident(alert("a"), state=IncidentState.CLOSED)
    assert next_sweep(TUNING, closed, T0, T0 + timedelta(days=7)) is None
    endless = incident(alert("a", ends_at=None))
    assert next_sweep(Tuning(), endless, T0) is None


def test_a_resolved_incident_is_due_when_it_closes_or_an_alert_left_firing_expires() -> None:
    close_at = T0 + timedelta(days=7)
    quiet = incident(alert("a", AlertStatus.RESOLVED), state=IncidentState.RESOLVED)
    assert next_sweep(TUNING, quiet, T0, close_at) == close_at
    # auto_close_after 0s: nothing to do on it.
    assert next_sweep(TUNING, quiet, T0) is None
    # A person resolved it while "a" fired: "a" expires first, at its end.
    firing = incident(alert("a"), state=IncidentState.RESOLVED)
    assert next_sweep(TUNING, firing, T0, close_at) == T0 + timedelta(minutes=4)
    # Merged into another: its alerts moved there and expire there, not here.
    merged = replace(firing, merged_into="i2")
    assert next_sweep(TUNING, merged, T0, close_at) == close_at


def test_a_step_keeps_an_earlier_sweep_and_adds_what_it_changed() -> None:
    before = incident(alert("a"), sweep_at=T0 + timedelta(minutes=4))
    joined = alert("b", ends_at=T0 + timedelta(minutes=2))
    after = replace(before, alerts={**before.alerts, "b": joined})
    assert sweep_after_step(TUNING, before, after, [joined], T0) == T0 + timedelta(minutes=2)
    late = alert("c", ends_at=T0 + timedelta(minutes=9))
    after = replace(before, alerts={**before.alerts, "c": late})
    assert sweep_after_step(TUNING, before, after, [late], T0) == T0 + timedelta(minutes=4)


def test_a_step_that_resolves_an_alert_schedules_the_resolve() -> None:
    before = incident(alert("a"), sweep_at=T0 + timedelta(minutes=4))
    resolved = alert("a", AlertStatus.RESOLVED)
    after = replace(before, alerts={"a": resolved})
    now = T0 + timedelta(seconds=30)
    assert sweep_after_step(TUNING, before, after, [resolved], now) == now + timedelta(minutes=1)


def test_a_step_is_never_later_than_the_exact_answer() -> None:
    # Refreshing an alert moves its end later; the step keeps the earlier time.
    before = incident(alert("a"), alert("b"), sweep_at=T0 + timedelta(minutes=4))
    refreshed = alert("a", ends_at=T0 + timedelta(minutes=8))
    after = replace(before, alerts={**before.alerts, "a": refreshed})
    step = sweep_after_step(TUNING, before, after, [refreshed], T0)
    exact = next_sweep(TUNING, after, T0)
    assert step is not None
    assert exact is not None
    assert step <= exact


def test_a_step_keeps_the_auto_close_of_an_incident_it_resolved() -> None:
    before = incident(alert("a"), sweep_at=T0 + timedelta(minutes=4))
    # core.lifecycle set its sweep to its auto-close (or kept an earlier one).
    close_at = T0 + timedelta(days=7)
    after = replace(before, state=IncidentState.RESOLVED, sweep_at=close_at)
    assert sweep_after_step(TUNING, before, after, [], T0) == close_at
    # A resend of an alert it holds firing: expires before it closes.
    resent = alert("a", ends_at=T0 + timedelta(minutes=8))
    assert sweep_after_step(TUNING, after, after, [resent], T0) == T0 + timedelta(minutes=8)
    closed = replace(after, state=IncidentState.CLOSED, sweep_at=None)
    assert sweep_after_step(TUNING, after, closed, [resent], T0) is None
