"""core.problems: strict request bodies and the problem lifecycle, without a store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from core.errors import Conflict, InvalidFields
from core.problems import (
    MAX_INCIDENTS,
    MAX_TEXT,
    TRANSITIONS,
    CreateProblem,
    InvalidProblemTransition,
    LinkIncident,
    Problem,
    ProblemState,
    UnlinkIncident,
    UpdateProblem,
    open_problem,
    parse_action,
    parse_create,
    updated,
    with_incident,
    without_incident,
)

NOW = datetime(2026, 11, 27, 15, 12, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def documented(state: ProblemState) -> Problem:
    """A problem in ``state`` with its root cause and workaround known."""
    problem = open_problem(CreateProblem("t", ("inc-1",)), "prb-1", "ana", NOW)
    return replace(problem, state=state, root_cause="c", workaround="w")


@pytest.mark.parametrize(("start", "target"), list(product(ProblemState, ProblemState)))
def test_only_the_listed_transitions_are_allowed(start: ProblemState, target: ProblemState) -> None:
    problem = documented(start)
    request = UpdateProblem(state=target)
    if target in TRANSITIONS[start]:
        moved = updated(problem, request, "bo", LATER)
        assert (moved.state, moved.version, moved.updated_by) == (target, 2, "bo")
    elif start is target and start is not ProblemState.CLOSED:
        # Naming the state it is in changes nothing but who and when.
        assert updated(problem, request, "bo", LATER).state is start
    else:
        with pytest.raises(InvalidProblemTransition) as caught:
            updated(problem, request, "bo", LATER)
        assert caught.value.details()["allowed"] == [s.value for s in TRANSITIONS[start]]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        # Everything missing: title and incidents named.
        ({}, ["title", "incidents"]),
        # A description over the limit.
        ({"title": "t", "incidents": ["i"], "description": "x" * (MAX_TEXT + 1)}, ["description"]),
        # Too many incidents at once.
        ({"title": "t", "incidents": [f"i{n}" for n in range(101)]}, ["incidents"]),
        # An unknown field, by name, beside a blank title.
        ({"title": " ", "incidents": ["i"], "owner": "x"}, ["owner", "title"]),
    ],
)
def test_a_bad_creation_names_every_field_at_fault(
    body: dict[str, object], fields: list[str]
) -> None:
    with pytest.raises(InvalidFields) as caught:
        parse_create(body)
    assert [p.field for p in caught.value.problems] == fields


def test_a_creation_lists_each_incident_once_in_order() -> None:
    parsed = parse_create({"title": " t ", "incidents": ["b", "a", "b"]})
    assert parsed == CreateProblem("t", ("b", "a"))


@pytest.mark.parametrize(
    ("action", "body", "want"),
    [
        # Link and unlink take one incident id.
        ("link", {"incident": "inc-1"}, LinkIncident("inc-1")),
        ("unlink", {"incident": "inc-1"}, UnlinkIncident("inc-1")),
        # Update takes any of its fields.
        ("update", {"known_error": False}, UpdateProblem(known_error=False)),
        (
            "update",
            {"state": "investigating", "title": "x"},
            UpdateProblem(title="x", state=ProblemState.INVESTIGATING),
        ),
    ],
)
def test_actions_read_their_bodies(action: str, body: object, want: object) -> None:
    assert parse_action(action, body) == want


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        # An unknown action.
        ("merge", {}, "action"),
        # Link without its incident.
        ("link", None, "incident"),
        # A field link does not take.
        ("link", {"incident": "i", "note": "n"}, "note"),
        # known_error must be a boolean.
        ("update", {"known_error": "yes"}, "known_error"),
        # A root cause over the limit.
        ("update", {"root_cause": "x" * (MAX_TEXT + 1)}, "root_cause"),
    ],
)
def test_bad_action_bodies_name_the_field(action: str, body: object, field: str) -> None:
    with pytest.raises(InvalidFields) as caught:
        parse_action(action, body)
    assert caught.value.field == field


def test_links_keep_order_and_a_closed_problem_keeps_its_incidents() -> None:
    problem = documented(ProblemState.INVESTIGATING)
    linked = with_incident(problem, "inc-2", "bo", LATER)
    assert linked.incidents == ("inc-1", "inc-2")
    assert with_incident(linked, "inc-2", "bo", LATER) is linked
    assert without_incident(linked, "inc-1", "bo", LATER).incidents == ("inc-2",)
    closed = documented(ProblemState.CLOSED)
    with pytest.raises(Conflict):
        with_incident(closed, "inc-2", "bo", LATER)
    with pytest.raises(Conflict):
        without_incident(closed, "inc-1", "bo", LATER)


def test_a_problem_links_at_most_max_incidents() -> None:
    problem = documented(ProblemState.NEW)
    full = replace(problem, incidents=tuple(f"i{n}" for n in range(MAX_INCIDENTS)))
    with pytest.raises(InvalidFields) as caught:
        with_incident(full, "one-more", "bo", LATER)
    assert caught.value.field == "incident"


def test_a_problem_in_state_known_error_stays_a_known_error() -> None:
    problem = replace(documented(ProblemState.KNOWN_ERROR), known_error=True)
    with pytest.raises(InvalidFields) as caught:
        updated(problem, UpdateProblem(known_error=False), "bo", LATER)
    assert caught.value.field == "known_error"


def test_a_closed_problem_changes_no_more_not_even_its_title() -> None:
    with pytest.raises(Conflict) as caught:
        updated(documented(ProblemState.CLOSED), UpdateProblem(title="new"), "bo", LATER)
    assert not isinstance(caught.value, InvalidProblemTransition)
    assert caught.value.field == "state"
