"""The status page's writer on the incident event stream, on SQLite and Redis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson

from core.clock import ManualClock
from core.incident import IncidentEvent, IncidentState
from core.store import Store, incident_change
from core.timestamps import micros
from rules.model import Rules
from statuspage import records as rec
from statuspage.commands import incident_command, maintenance_command
from statuspage.model import ComponentStatus, Impact, MaintenanceStatus, PublicIncidentStatus
from statuspage.records import PageState
from statuspage.writer import command_failed, file_command, new_id
from tests.contract.builders import StoreOpener
from tests.statuspage.harness import change, drain, opened, public_incidents, writer

T = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


async def state_of(store: Store) -> PageState:
    raw = await store.consumer_documents(rec.STATE, [rec.STATE_KEY])
    return PageState.decode(raw.get(rec.STATE_KEY))


async def test_a_p1_incident_on_a_component_becomes_public_with_the_rules_text(
    store: Store, rules: Rules
) -> None:
    await opened(store, 1, T)
    clock = ManualClock(T + MIN)
    changes = await drain(writer(store, rules, clock))
    (record,) = await public_incidents(store)
    incident = record.incident
    # Title and first update from the default public templates, with display names.
    assert incident.name == "Problems with Checkout"
    assert incident.updates[0].body == "We are investigating reports of problems with Checkout."
    assert incident.status is PublicIncidentStatus.INVESTIGATING
    assert incident.impact is Impact.CRITICAL
    assert incident.id != "inc-0001"
    assert incident.started_at == T
    assert record.statuses == {"checkout": ComponentStatus.MAJOR_OUTAGE}
    assert changes.incidents == {incident.id}
    assert "checkout" in changes.components
    state = await state_of(store)
    assert state.components["checkout"][:2] == (ComponentStatus.MAJOR_OUTAGE, T)


async def test_acknowledge_and_resolve_add_identified_and_resolved_updates(
    store: Store, rules: Rules
) -> None:
    internal = await opened(store, 1, T)
    clock = ManualClock(T + MIN)
    status = writer(store, rules, clock)
    await drain(status)
    internal = await change(
        store, internal, "acknowledged", T + 5 * MIN, IncidentState.ACKNOWLEDGED
    )
    await drain(status)
    internal = await change(store, internal, "resolved", T + 65 * MIN, IncidentState.RESOLVED)
    clock.advance(70 * MIN)
    await drain(status)
    (record,) = await public_incidents(store)
    incident = record.incident
    # Newest first: resolved, identified, investigating; texts from the templates.
    assert [u.status for u in incident.updates] == [
        PublicIncidentStatus.RESOLVED,
        PublicIncidentStatus.IDENTIFIED,
        PublicIncidentStatus.INVESTIGATING,
    ]
    assert incident.updates[1].body == "The cause has been identified and a fix is being worked on."
    assert incident.updates[0].body == "This incident has been resolved."
    assert incident.resolved_at == T + 65 * MIN
    resolved = incident.updates[0].affected_components
    assert [(a.id, a.old_status, a.new_status) for a in resolved] == [
        ("checkout", ComponentStatus.MAJOR_OUTAGE, ComponentStatus.OPERATIONAL)
    ]
    state = await state_of(store)
    assert state.components["checkout"][0] is ComponentStatus.OPERATIONAL
    assert state.open == {}
    day = await store.consumer_documents(rec.INTERVALS, [rec.interval_key("checkout", T.date())])
    stretches = rec.decode_stretches(day[rec.interval_key("checkout", T.date())])
    assert stretches == [(T, T + 65 * MIN, ComponentStatus.MAJOR_OUTAGE)]


async def test_a_reopened_incident_goes_back_to_investigating(store: Store, rules: Rules) -> None:
    internal = await opened(store, 1, T, priority="P2")
    clock = ManualClock(T + 2 * MIN)
    status = writer(store, rules, clock)
    internal = await change(store, internal, "resolved", T + MIN, IncidentState.RESOLVED)
    await drain(status)
    await change(store, internal, "reopened", T + 2 * MIN, IncidentState.TRIGGERED)
    await drain(status)
    (record,) = await public_incidents(store)
    assert record.incident.status is PublicIncidentStatus.INVESTIGATING
    assert record.incident.resolved_at is None
    assert (await state_of(store)).components["checkout"][0] is ComponentStatus.PARTIAL_OUTAGE


async def test_only_what_the_rules_publish_becomes_public(store: Store, rules: Rules) -> None:
    # (priority, components, public flag): P5 is not published by the test rules; no
    # component; a component the page does not have.
    cases = [("P5", ("checkout",), True), ("P1", (), False), ("P1", ("billing",), True)]
    for n, (priority, components, public) in enumerate(cases, 1):
        await opened(store, n, T, priority=priority, components=components, public=public)
    await drain(writer(store, rules, ManualClock(T + MIN)))
    assert await public_incidents(store) == []
    assert (await state_of(store)).components["checkout"][0] is ComponentStatus.OPERATIONAL


async def test_no_internal_text_reaches_the_stored_public_documents(
    store: Store, rules: Rules
) -> None:
    internal = await opened(store, 1, T, title="<script>db-7.internal:5432</script>")
    clock = ManualClock(T + MIN)
    status = writer(store, rules, clock)
    await drain(status)
    await change(store, internal, "resolved", T + 2 * MIN, IncidentState.RESOLVED)
    await drain(status)
    (record,) = await public_incidents(store)
    text = orjson.dumps(orjson.loads(orjson.dumps(record.encode())) | {"internal": None})
    for secret in (b"db-7.internal", b"web-1", b"HighLatency", b"latency on", b"inc-0001"):
        assert secret not in text


async def test_a_second_member_gets_nothing_while_the_first_holds_the_lease(
    store: Store, rules: Rules
) -> None:
    await opened(store, 1, T)
    clock = ManualClock(T + MIN)
    first, second = writer(store, rules, clock, "a"), writer(store, rules, clock, "b")
    assert await first.step()
    await opened(store, 2, T + MIN, components=("search",))
    assert await second.step() is None
    # Once the first one's lease has run out, the second takes over where it stopped.
    clock.advance(timedelta(seconds=31))
    changes = await second.step()
    assert changes is not None
    assert changes.components >= {"search"}
    assert len(await public_incidents(store)) == 2


async def test_the_page_state_survives_a_restart(open_store: StoreOpener, rules: Rules) -> None:
    store = await open_store()
    await opened(store, 1, T)
    await drain(writer(store, rules, ManualClock(T + MIN)))
    await store.close()
    again = await open_store()
    try:
        state = await state_of(again)
        assert state.components["checkout"][0] is ComponentStatus.MAJOR_OUTAGE
        assert len(await public_incidents(again)) == 1
        # Nothing is applied twice: the cursor was written with the effects.
        assert not await writer(again, rules, ManualClock(T + 2 * MIN), "other").step()
    finally:
        await again.close()


async def test_a_maintenance_window_puts_its_component_under_maintenance(
    store: Store, rules: Rules
) -> None:
    start = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # the rules' db-patching window
    clock = ManualClock(start - MIN)
    status = writer(store, rules, clock)
    await drain(status)
    clock.set(start + MIN)
    changes = await drain(status)
    assert changes.components == {"checkout"}
    assert (await state_of(store)).components["checkout"][0] is ComponentStatus.UNDER_MAINTENANCE
    clock.set(start + 2 * 60 * MIN + MIN)
    await drain(status)
    key = rec.interval_key("checkout", start.date())
    stretches = rec.decode_stretches((await store.consumer_documents(rec.INTERVALS, [key]))[key])
    assert stretches == [(start + MIN, start + 121 * MIN, ComponentStatus.UNDER_MAINTENANCE)]


async def test_a_raised_priority_raises_the_components_status(store: Store, rules: Rules) -> None:
    internal = await opened(store, 1, T, priority="P3")
    clock = ManualClock(T + MIN)
    status = writer(store, rules, clock)
    await drain(status)
    raised = replace(internal, version=internal.version + 1, priority="P1")
    event = IncidentEvent(internal.id, T + 2 * MIN, "ana", "priority_changed", {})
    await store.commit(incident_change(raised, event))
    await drain(status)
    (record,) = await public_incidents(store)
    assert record.statuses == {"checkout": ComponentStatus.MAJOR_OUTAGE}
    assert record.incident.impact is Impact.CRITICAL
    assert len(record.incident.updates) == 1  # no update of its own
    assert (await state_of(store)).components["checkout"][:2] == (
        ComponentStatus.MAJOR_OUTAGE,
        T + 2 * MIN,
    )


async def test_a_lowered_priority_changes_nothing_public(store: Store, rules: Rules) -> None:
    # Before, P3 -> P5 turned the component operational and the impact none, silently,
    # while the public incident still said "investigating" (review 12 finding 10).
    internal = await opened(store, 1, T, priority="P3")
    clock = ManualClock(T + MIN)
    status = writer(store, rules, clock)
    await drain(status)
    (before,) = await public_incidents(store)
    lowered = replace(internal, version=internal.version + 1, priority="P5")
    event = IncidentEvent(internal.id, T + 2 * MIN, "ana", "priority_changed", {})
    await store.commit(incident_change(lowered, event))
    await drain(status)
    (record,) = await public_incidents(store)
    assert record.statuses == before.statuses
    assert record.incident.impact is before.incident.impact
    assert (await state_of(store)).components["checkout"][0] is before.statuses["checkout"]


async def test_a_failing_command_is_set_aside_and_the_later_ones_applied(
    store: Store, rules: Rules
) -> None:
    # Before, a command that raised failed every later step: nothing after it applied.
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await drain(status)
    known = {"website", "search", "checkout", "card-payments"}
    bad = incident_command({"name": "Broken", "body": "x"}, known, new_id(), new_id(), T + MIN)
    del bad["fields"]["impact"]  # as a command of another version might be
    odd = {"op": "drop_tables", "at": micros(T + MIN), "id": "x", "update_id": "y", "fields": {}}
    good = incident_command(
        {"name": "Slow search", "body": "Looking.", "components": ["search"]},
        known,
        new_id(),
        new_id(),
        T + 2 * MIN,
    )
    keys = [await file_command(store, c) for c in (bad, odd, good)]
    clock.set(T + 3 * MIN)
    changes = await drain(status)
    assert changes.incidents == {good["id"]}
    (record,) = await public_incidents(store)
    assert record.incident.name == "Slow search"
    assert await store.due_documents(rec.COMMANDS, rec.EVERYTHING, 10) == []
    assert "KeyError" in (await command_failed(store, keys[0]) or "")
    assert await command_failed(store, keys[1]) == "ValueError: not a command this writer knows"
    assert await command_failed(store, keys[2]) is None


async def test_the_clock_moving_a_maintenance_adds_its_updates(store: Store, rules: Rules) -> None:
    # Before, a maintenance went scheduled -> in progress -> completed with no update:
    # its timeline said "scheduled" while the page showed it completed.
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await drain(status)
    window = {
        "name": "Database upgrade",
        "scheduled_for": "2026-03-12T10:00:00Z",
        "scheduled_until": "2026-03-12T11:00:00Z",
        "components": ["card-payments"],
    }
    known = {"website", "search", "checkout", "card-payments"}
    command = maintenance_command(window, known, new_id(), new_id(), T)
    await file_command(store, command)
    await drain(status)
    clock.set(T + 90 * MIN)  # 10:30: in progress
    changes = await drain(status)
    assert changes.maintenances == {command["id"]}
    stored = await store.consumer_documents(rec.MAINTENANCES, [command["id"]])
    maintenance = rec.decode_maintenance(stored[command["id"]])
    assert maintenance.status is MaintenanceStatus.IN_PROGRESS
    assert [(u.status, u.created_at) for u in maintenance.updates] == [
        (MaintenanceStatus.IN_PROGRESS, T + 60 * MIN),
        (MaintenanceStatus.SCHEDULED, T),
    ]
    assert maintenance.updates[0].body == "Scheduled maintenance of Card payments is in progress."
    clock.set(T + 150 * MIN)  # 11:30: completed
    await drain(status)
    stored = await store.consumer_documents(rec.MAINTENANCES, [command["id"]])
    maintenance = rec.decode_maintenance(stored[command["id"]])
    assert maintenance.status is MaintenanceStatus.COMPLETED
    assert [u.status for u in maintenance.updates] == [
        MaintenanceStatus.COMPLETED,
        MaintenanceStatus.IN_PROGRESS,
        MaintenanceStatus.SCHEDULED,
    ]
    assert maintenance.updates[0].created_at == T + 120 * MIN
    clock.advance(MIN)
    assert not await drain(status)  # once each
