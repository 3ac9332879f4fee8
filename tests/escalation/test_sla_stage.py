"""The SLA stage on both stores: thresholds fire once, hold pauses, priority recomputes."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry

from core.incident import IncidentState
from core.store import Store
from escalation.sla_stage import SlaStage
from escalation.sla_state import ClockName
from tests.contract.builders import T0
from tests.escalation.escalation_world import any_store
from tests.escalation.sla_world import SlaWorld, minutes, sla_key, sla_rules
from tocsin.escalation_metrics import EscalationMetrics

__all__ = ["any_store"]

ACK_WARNING = "warning-3m45s"  # 75 % of P1's 5m


def world(store: Store) -> SlaWorld:
    return SlaWorld(store, rules=sla_rules())


async def test_p1_acknowledged_at_80_percent_warns_once_and_never_breaches(store: Store) -> None:
    w = world(store)
    incident = await w.open_with()
    await w.run_sla()
    assert (await w.sla(incident)).due == T0 + timedelta(minutes=3, seconds=45)
    w.clock.set(T0 + minutes(3.74))
    await w.run_sla()
    assert await w.sla_outbox() == []  # not yet
    w.clock.set(T0 + minutes(3.75))
    await w.run_sla()
    warning = sla_key(incident, "acknowledge", "P1", ACK_WARNING, "bob")
    assert await w.sla_outbox() == [warning]  # functional: team tier2; no manager on warnings
    w.clock.set(T0 + minutes(4))  # 80 %
    await w.acknowledge(incident)
    await w.run_sla()
    for at in (5, 6, 30):
        w.clock.set(T0 + minutes(at))
        await w.run_sla()
    assert await w.sla_outbox() == [warning]
    assert await w.notes(incident) == [("sla_warning", "acknowledge", ACK_WARNING)]
    assert w.recorded == [("acknowledge", "sla_warning")]
    state = await w.sla(incident)
    assert state.clocks[ClockName.ACKNOWLEDGE].stopped_at == T0 + minutes(4)
    # Time to resolve still runs: its warning is next, at 45m.
    assert state.due == T0 + minutes(45)


async def test_on_hold_pauses_both_clocks_and_moves_the_breach_by_the_hold(store: Store) -> None:
    w = world(store)
    incident = await w.open_with()
    await w.run_sla()
    w.clock.set(T0 + minutes(1))
    await w.hold(incident)
    await w.run_sla()
    assert (await w.sla(incident)).due is None  # paused: nothing to wait for
    w.clock.set(T0 + minutes(30))  # the breach at 5m would have passed long ago
    await w.run_sla()
    assert await w.sla_outbox() == []
    await w.resume(incident, IncidentState.TRIGGERED)  # 29 minutes on hold
    await w.run_sla()
    assert (await w.sla(incident)).due == T0 + minutes(29 + 3.75)
    w.clock.set(T0 + minutes(29 + 3.75))
    await w.run_sla()
    w.clock.set(T0 + minutes(29 + 5) - timedelta(microseconds=1))
    await w.run_sla()
    assert await w.notes(incident) == [("sla_warning", "acknowledge", ACK_WARNING)]
    w.clock.set(T0 + minutes(29 + 5))
    await w.run_sla()
    assert await w.notes(incident) == [
        ("sla_warning", "acknowledge", ACK_WARNING),
        ("sla_breached", "acknowledge", "breach"),
    ]
    # The breach goes to the next tier and to the manager.
    assert await w.sla_outbox() == sorted(
        [
            sla_key(incident, "acknowledge", "P1", ACK_WARNING, "bob"),
            sla_key(incident, "acknowledge", "P1", "breach", "bob"),
            sla_key(incident, "acknowledge", "P1", "breach", "boss"),
        ]
    )


async def test_new_stage_instances_fire_each_threshold_once(store: Store) -> None:
    w = world(store)
    incident = await w.open_with()
    await w.run_sla(w.sla_stage("m1"))
    # A stage instance per instant, twice each, and a pass again at the same instant.
    for at in (3.75, 3.75, 4, 5, 5, 6, 45, 60, 61):
        w.clock.set(T0 + minutes(at))
        first = w.sla_stage("m1")
        await w.run_sla(first)
        await first.release()
        await w.run_sla(w.sla_stage("m1"))
    assert await w.notes(incident) == [
        ("sla_warning", "acknowledge", ACK_WARNING),
        ("sla_breached", "acknowledge", "breach"),
        ("sla_warning", "resolve", "warning-45m"),
        ("sla_breached", "resolve", "breach"),
    ]
    assert sorted(w.recorded) == sorted(
        [
            ("acknowledge", "sla_warning"),
            ("acknowledge", "sla_breached"),
            ("resolve", "sla_warning"),
            ("resolve", "sla_breached"),
        ]
    )
    assert len(await w.sla_outbox()) == 6  # bob on warnings, bob and boss on breaches
    assert (await w.sla(incident)).due is None


async def test_a_stopped_stage_catches_up_with_each_missed_threshold_once(store: Store) -> None:
    w = world(store)
    incident = await w.open_with()
    await w.run_sla()
    w.clock.set(T0 + minutes(50))  # down from 0 to 50m: acknowledge's both and resolve's warning
    await w.run_sla(w.sla_stage("m2"))
    assert await w.notes(incident) == [
        ("sla_warning", "acknowledge", ACK_WARNING),
        ("sla_breached", "acknowledge", "breach"),
        ("sla_warning", "resolve", "warning-45m"),
    ]
    # The warning reached together with the breach is noted, not paged.
    assert await w.sla_outbox() == sorted(
        [
            sla_key(incident, "acknowledge", "P1", "breach", "bob"),
            sla_key(incident, "acknowledge", "P1", "breach", "boss"),
            sla_key(incident, "resolve", "P1", "warning-45m", "bob"),
        ]
    )


async def test_a_threshold_reached_before_the_acknowledgement_the_stage_saw_late_pages_nobody(
    store: Store,
) -> None:
    w = world(store)
    incident = await w.open_with()
    await w.run_sla()
    w.clock.set(T0 + minutes(4))
    await w.acknowledge(incident)  # the stage did not run at 3m45s
    await w.run_sla()
    assert await w.notes(incident) == [("sla_warning", "acknowledge", ACK_WARNING)]
    assert await w.sla_outbox() == []
    timeline = await store.incident_events(incident)
    [note] = [e for e in timeline if e.kind == "sla_warning"]
    assert note.at == T0 + minutes(3.75)  # when it was reached
    assert note.detail["not_paged"] == ["its clock stopped before the stage handled it"]


async def test_a_priority_change_recomputes_the_targets(store: Store) -> None:
    w = world(store)
    incident = await w.open_with(priority="P3")  # acknowledge 1h, warning at 45m
    await w.run_sla()
    assert (await w.sla(incident)).due == T0 + minutes(45)
    w.clock.set(T0 + minutes(2))
    await w.change(incident, "priority_raised", priority="P1")
    await w.run_sla()
    # P1: acknowledge in 5m from the start, not from the change.
    assert (await w.sla(incident)).due == T0 + minutes(3.75)
    w.clock.set(T0 + minutes(10))
    await w.change(incident, "priority_raised", priority="P3")
    await w.run_sla()
    # Lowered again: P1's thresholds fired (before the change); P3's are later.
    assert await w.notes(incident) == [
        ("sla_warning", "acknowledge", ACK_WARNING),
        ("sla_breached", "acknowledge", "breach"),
    ]
    assert (await w.sla(incident)).due == T0 + minutes(45)
    w.clock.set(T0 + minutes(46))
    await w.change(incident, "priority_raised", priority="P1")
    await w.run_sla()
    # Back at P1: its thresholds were handled already, and fire no second time.
    assert [n for n in await w.notes(incident) if n[2] != "warning-45m"] == [
        ("sla_warning", "acknowledge", ACK_WARNING),
        ("sla_breached", "acknowledge", "breach"),
    ]


async def test_a_raised_priority_past_its_target_breaches_at_once(store: Store) -> None:
    w = world(store)
    incident = await w.open_with(priority="P3")
    await w.run_sla()
    w.clock.set(T0 + minutes(20))
    await w.change(incident, "priority_raised", priority="P1")
    await w.run_sla()
    assert await w.notes(incident) == [
        ("sla_warning", "acknowledge", ACK_WARNING),
        ("sla_breached", "acknowledge", "breach"),
    ]
    keys = await w.sla_outbox()
    assert keys == sorted(
        [
            sla_key(incident, "acknowledge", "P1", "breach", "bob"),
            sla_key(incident, "acknowledge", "P1", "breach", "boss"),
        ]
    )


async def test_resolving_stops_both_and_reopening_starts_a_new_cycle(store: Store) -> None:
    w = world(store)
    incident = await w.open_with()
    await w.run_sla()
    w.clock.set(T0 + minutes(2))
    await w.resolve(incident)
    await w.run_sla()
    assert (await w.sla(incident)).due is None
    w.clock.set(T0 + minutes(20))
    await w.run_sla()
    assert await w.notes(incident) == []
    await w.change(incident, "reopened", state=IncidentState.TRIGGERED)
    await w.run_sla()
    state = await w.sla(incident)
    assert (state.cycle, state.due) == (2, T0 + minutes(20 + 3.75))
    w.clock.set(T0 + minutes(20 + 3.75))
    await w.run_sla()
    assert await w.sla_outbox() == [
        sla_key(incident, "acknowledge", "P1", ACK_WARNING, "bob", cycle=2)
    ]


async def test_warnings_and_breaches_are_counted_and_their_pages_noted(store: Store) -> None:
    registry = CollectorRegistry()
    metrics = EscalationMetrics(registry)
    w = world(store)
    incident = await w.open_with()
    stage = SlaStage(store, lambda: w.rules, w.clock, "m1", metrics=metrics)
    await w.run_sla(stage)
    w.clock.set(T0 + minutes(5))
    await w.run_sla(stage)

    def count(clock: str, kind: str) -> float | None:
        labels = {"clock": clock, "kind": kind}
        return registry.get_sample_value("tocsin_sla_events_total", labels)

    # Both reached in one pass: the warning is superseded but still counted.
    assert (count("acknowledge", "warning"), count("acknowledge", "breach")) == (1.0, 1.0)
    assert registry.get_sample_value("tocsin_escalation_pages_total") == 2.0  # bob, boss
    timeline = await store.incident_events(incident)
    assert sorted(e.detail["key"] for e in timeline if e.kind == "paged") == await w.sla_outbox()


async def test_a_muted_incident_records_its_thresholds_and_pages_nobody(store: Store) -> None:
    w = world(store)
    incident = await w.open_with(muted=True)
    await w.run_sla()
    w.clock.set(T0 + minutes(3.75))
    await w.run_sla()
    await w.change(incident, "unmuted", muted=False)
    w.clock.set(T0 + minutes(5))
    await w.run_sla()
    assert await w.notes(incident) == [
        ("sla_warning", "acknowledge", ACK_WARNING),
        ("sla_breached", "acknowledge", "breach"),
    ]
    timeline = await store.incident_events(incident)
    warning = next(e for e in timeline if e.kind == "sla_warning")
    assert warning.detail["not_paged"] == ["the incident is muted: nobody is paged"]
    assert await w.sla_outbox() == sorted(
        [
            sla_key(incident, "acknowledge", "P1", "breach", "bob"),
            sla_key(incident, "acknowledge", "P1", "breach", "boss"),
        ]
    )


async def test_only_the_lease_holder_fires(store: Store) -> None:
    w = world(store)
    incident = await w.open_with()
    hour = timedelta(hours=1)
    first = SlaStage(store, lambda: w.rules, w.clock, "m1", lease=hour)
    second = SlaStage(store, lambda: w.rules, w.clock, "m2", lease=hour)
    assert await first.step() == 1
    w.clock.set(T0 + minutes(5))
    assert await second.step() == 0  # m1 holds the group's lease
    assert await w.sla_outbox() == []
    await first.release()
    await w.run_sla(second)
    assert len(await w.sla_outbox()) == 2  # the breach: bob and boss; the warning superseded
    assert len(await w.notes(incident)) == 2


async def test_triggered_again_after_an_acknowledgement_keeps_time_to_acknowledge(
    store: Store,
) -> None:
    w = world(store)
    incident = await w.open_with()
    await w.run_sla()
    w.clock.set(T0 + minutes(1))
    await w.acknowledge(incident)
    await w.run_sla()
    w.clock.set(T0 + minutes(2))
    await w.change(incident, "retriggered", state=IncidentState.TRIGGERED)
    await w.run_sla()
    state = await w.sla(incident)
    assert (state.cycle, state.clocks[ClockName.ACKNOWLEDGE].stopped_at) == (1, T0 + minutes(1))
    w.clock.set(T0 + minutes(10))
    await w.run_sla()
    assert await w.notes(incident) == []  # met at 1m; time to resolve warns at 45m


async def test_without_an_sla_escalation_the_threshold_is_noted_with_why(store: Store) -> None:
    w = world(store)
    incident = await w.open_with(team="nobody")
    await w.run_sla()
    w.clock.set(T0 + minutes(5))
    await w.run_sla()
    assert await w.sla_outbox() == []
    timeline = await store.incident_events(incident)
    breach = next(e for e in timeline if e.kind == "sla_breached")
    assert breach.detail["not_paged"] == [
        "no sla_escalation for the incident's team or in the priority section"
    ]
    assert breach.actor == "sla"
