"""The incident actions besides state changes (core.incident_actions), and their requests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from core.codec import decode_incident, encode_incident
from core.errors import Conflict, Forbidden, InvalidFields, InvalidTransition, NotFound
from core.incident import Incident, IncidentAlert, IncidentState, Task
from core.incident_actions import (
    Directory,
    act,
    available_actions,
    merge,
    rules_tasks,
)
from core.incident_requests import (
    AddTask,
    Assign,
    ChangePriority,
    CompleteTask,
    Note,
    parse_action,
    parse_completion,
    parse_task,
)
from core.lifecycle import Actor, LifecyclePolicy
from core.lifecycle_requests import Acknowledge, Merge, Reopen
from core.model import AlertStatus
from core.roles import Role

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
ANA = Actor("ana", Role.RESPONDER)
DIRECTORY = Directory(teams={"web", "dba"}, people={"ana", "ben"})


def alert(fingerprint: str, last_seen: datetime) -> IncidentAlert:
    return IncidentAlert(
        fingerprint, {"alertname": "DiskFull"}, AlertStatus.FIRING, T0, last_seen, 1, "1"
    )


def opened(n: int = 1, **changes: object) -> Incident:
    incident = Incident(
        f"inc-{n}", f"group-{n}", "Disk full", IncidentState.TRIGGERED, T0, {}, version=3
    )
    return replace(incident, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # Open: the lifecycle's, then assign, priority, note, tasks.
        (
            IncidentState.TRIGGERED,
            (
                *("acknowledge", "hold", "resolve", "merge", "escalate"),
                *("assign", "priority", "note", "tasks"),
            ),
        ),
        # Resolved: follow-ups only.
        (IncidentState.RESOLVED, ("close", "reopen", "note", "tasks")),
        # Closed is final.
        (IncidentState.CLOSED, ()),
    ],
)
def test_the_available_actions_of_a_state(state: IncidentState, expected: tuple[str, ...]) -> None:
    assert available_actions(opened(state=state)) == expected


def test_assign_sets_team_and_assignee_and_records_both_before_and_after() -> None:
    incident = opened(team="web")
    acted = act(incident, Assign(team="dba", person="ben", note="db"), ANA, T0, DIRECTORY)
    assert (acted.incident.team, acted.incident.assignee) == ("dba", "ben")
    [event] = acted.events
    assert (event.kind, event.actor, event.at) == ("assigned", "ana", T0)
    assert event.detail == {
        "team": "dba",
        "previous_team": "web",
        "person": "ben",
        "previous_person": None,
        "note": "db",
    }


def test_assign_names_each_unknown_name() -> None:
    with pytest.raises(InvalidFields) as raised:
        act(opened(), Assign(team="x", person="y"), ANA, T0, DIRECTORY)
    assert [p.field for p in raised.value.problems] == ["team", "person"]
    assert "the rules define: dba, web" in raised.value.problems[0].reason


def test_a_priority_change_keeps_the_reason_and_the_old_priority() -> None:
    acted = act(opened(priority="P3"), ChangePriority("P1", "all down"), ANA, T0, DIRECTORY)
    assert acted.incident.priority == "P1"
    assert acted.events[0].detail == {"from": "P3", "to": "P1", "reason": "all down"}
    with pytest.raises(InvalidFields, match="priority"):
        act(opened(), ChangePriority("P6", "r"), ANA, T0, DIRECTORY)


def test_a_note_changes_nothing_but_the_timeline() -> None:
    incident = opened()
    acted = act(incident, Note("hello"), ANA, T0, DIRECTORY)
    assert acted.incident is incident
    assert (acted.events[0].kind, acted.events[0].detail) == ("note", {"text": "hello"})


def test_tasks_are_numbered_and_completed_once() -> None:
    incident = act(opened(), AddTask("one"), ANA, T0, DIRECTORY).incident
    incident = act(incident, AddTask("two"), ANA, T0, DIRECTORY).incident
    later = T0 + timedelta(minutes=3)
    done = act(incident, CompleteTask("2", "ok"), ANA, later, DIRECTORY)
    assert [(t.id, t.title, t.completed_by, t.completed_at) for t in done.incident.tasks] == [
        ("1", "one", None, None),
        ("2", "two", "ana", later),
    ]
    assert done.events[0].detail == {
        "task_id": "2",
        "title": "two",
        "source": "person",
        "note": "ok",
    }
    with pytest.raises(Conflict):
        act(done.incident, CompleteTask("2"), ANA, later, DIRECTORY)
    with pytest.raises(NotFound):
        act(done.incident, CompleteTask("9"), ANA, later, DIRECTORY)


def test_rules_tasks_are_added_once_each_by_tocsin() -> None:
    acted = rules_tasks(opened(), ("Check lag", "Check disk", "Check lag"), T0)
    assert [(t.id, t.title, t.source, t.created_by) for t in acted.incident.tasks] == [
        ("1", "Check lag", "rules", "tocsin"),
        ("2", "Check disk", "rules", "tocsin"),
    ]
    assert [e.kind for e in acted.events] == ["task_added", "task_added"]
    again = rules_tasks(acted.incident, ("Check lag", "Check disk"), T0)
    assert again.incident.tasks == acted.incident.tasks
    assert again.events == ()


@pytest.mark.parametrize(
    "request_",
    [Assign(team="web"), Note("x"), ChangePriority("P1", "r"), AddTask("t")],
)
def test_a_viewer_may_not_act(request_: Assign | Note | ChangePriority | AddTask) -> None:
    with pytest.raises(Forbidden):
        act(opened(), request_, Actor("wallboard", Role.VIEWER), T0, DIRECTORY)


def test_a_closed_incident_takes_no_action_and_the_409_lists_none() -> None:
    with pytest.raises(InvalidTransition) as raised:
        act(opened(state=IncidentState.CLOSED), Note("x"), ANA, T0, DIRECTORY)
    assert raised.value.allowed == ()
    with pytest.raises(InvalidTransition) as lifecycle:
        act(opened(state=IncidentState.RESOLVED), Acknowledge(), ANA, T0, DIRECTORY)
    # A lifecycle action's 409 lists every action too, not only the lifecycle's.
    assert lifecycle.value.allowed == ("close", "reopen", "note", "tasks")


def test_merge_resolves_the_source_and_moves_its_newer_alerts() -> None:
    shared_old, shared_new = alert("f-shared", T0), alert("f-shared", T0 + timedelta(minutes=1))
    own = alert("f-own", T0)
    source = opened(1, alerts={"f-shared": shared_new, "f-own": own}, sweep_at=T0)
    target = opened(2, alerts={"f-shared": shared_old}, sweep_at=T0 + timedelta(hours=1))

    merged = merge(source, target, ANA, T0 + timedelta(minutes=2), DIRECTORY)

    assert (merged.source.state, merged.source.resolution_code, merged.source.merged_into) == (
        IncidentState.RESOLVED,
        "duplicate",
        "inc-2",
    )
    assert merged.source.resolved_by == "ana"
    assert {a.fingerprint: a for a in merged.moved} == {"f-shared": shared_new, "f-own": own}
    assert merged.target.alerts == {"f-shared": shared_new, "f-own": own}
    assert merged.target.sweep_at == T0  # the earlier of the two
    assert [(e.incident_id, e.kind) for e in merged.events] == [
        ("inc-1", "merged_into"),
        ("inc-2", "merged_from"),
    ]
    assert merged.events[1].detail == {
        "incident": "inc-1",
        "title": "Disk full",
        "alerts": 2,
        # No timeline given: none copied, none left behind.
        "timeline": 0,
        "timeline_left_on_source": 0,
    }


def test_a_merged_incident_is_not_reopened() -> None:
    merged = merge(opened(1), opened(2), ANA, T0, DIRECTORY).source
    assert available_actions(merged) == ("close", "note", "tasks")
    with pytest.raises(InvalidTransition) as raised:
        act(merged, Reopen("again"), ANA, T0, DIRECTORY)
    assert raised.value.allowed == ("close", "note", "tasks")


def test_merge_into_itself_or_into_a_finished_incident_is_refused() -> None:
    with pytest.raises(InvalidFields, match="into"):
        merge(opened(1), opened(1), ANA, T0, DIRECTORY)
    with pytest.raises(Conflict) as raised:
        merge(opened(1), opened(2, state=IncidentState.RESOLVED), ANA, T0, DIRECTORY)
    assert raised.value.field == "into"
    with pytest.raises(InvalidTransition):
        merge(opened(1, state=IncidentState.RESOLVED), opened(2), ANA, T0, DIRECTORY)


def test_merge_keeps_the_duplicate_code_whatever_the_rules_list() -> None:
    strict = replace(DIRECTORY, policy=LifecyclePolicy(resolution_codes=("fixed",)))
    merged = merge(opened(1), opened(2), ANA, T0, strict)
    assert merged.source.resolution_code == "duplicate"


@pytest.mark.parametrize(
    ("action", "body", "expected"),
    [
        # Assign with a team only.
        ("assign", {"team": " web "}, Assign(team="web")),
        ("note", {"text": "x"}, Note("x")),
        ("priority", {"priority": "P2", "reason": "r"}, ChangePriority("P2", "r")),
        # The lifecycle's actions are read by core.lifecycle_requests.
        ("merge", {"into": "inc-2"}, Merge("inc-2")),
        ("acknowledge", None, Acknowledge()),
    ],
)
def test_requests_are_read_from_json(action: str, body: object, expected: object) -> None:
    assert parse_action(action, body) == expected


def test_task_bodies_are_read_strictly() -> None:
    assert parse_task({"title": "t"}) == AddTask("t")
    assert parse_completion("3", None) == CompleteTask("3")
    with pytest.raises(InvalidFields) as raised:
        parse_task({"title": "t", "owner": "me"})
    assert [p.field for p in raised.value.problems] == ["owner"]


def test_tasks_problem_and_merge_survive_the_codec_and_old_documents_read() -> None:
    task = Task("1", "Check", "rules", "tocsin", T0, "ana", T0 + timedelta(minutes=1))
    incident = opened(tasks=(task,), problem_id="prb-1", merged_into="inc-9")
    assert decode_incident(encode_incident(incident)) == incident
    old = orjson.loads(encode_incident(opened()))
    for name in ("tasks", "problem_id", "merged_into"):
        del old[name]
    read = decode_incident(orjson.dumps(old))
    assert (read.tasks, read.problem_id, read.merged_into) == ((), None, None)
