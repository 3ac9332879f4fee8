"""The SLA clocks as the operator API shows them: status, time so far, breach time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from core.timestamps import format_rfc3339
from escalation.sla_state import ClockName, ClockRun, SlaState
from escalation.sla_view import sla_view
from tests.contract.builders import T0

ACK = ClockRun(timedelta(minutes=5), (timedelta(minutes=3, seconds=45),))
RESOLVE = ClockRun(timedelta(hours=1), (timedelta(minutes=45),))


def state(**changes: object) -> SlaState:
    """A P1 incident's clocks started at T0."""
    base = SlaState(
        "inc-1", 1, T0, None, (),
        {ClockName.ACKNOWLEDGE: ACK, ClockName.RESOLVE: RESOLVE}, "triggered", "P1",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ack_clock(view: dict[str, object]) -> dict[str, object]:
    clocks = view["clocks"]
    assert isinstance(clocks, list)
    found: dict[str, object] = clocks[0]
    assert found["clock"] == "acknowledge"
    return found


@pytest.mark.parametrize(
    ("sla", "now", "status", "elapsed", "breach_at", "following"),
    [
        # Running: 2 minutes in; the warning at 3m45s is next, the breach at 5m.
        (state(), at(2), "running", 120, at(5), ("warning-3m45s", at(3.75))),
        # On hold since 1m: paused at 1m; no breach time while paused.
        (state(paused_since=at(1)), at(10), "paused", 60, None, ("warning-3m45s", None)),
        # Resumed after 10 minutes on hold: everything 10 minutes later.
        (state(holds=((at(1), at(11)),)), at(12), "running", 120, at(15),
         ("warning-3m45s", at(13.75))),
        # Past the target and still running: breached, nothing next.
        (state(), at(6), "breached", 360, at(5), None),
        # Acknowledged at 4m: met, stopped.
        (state(clocks={ClockName.ACKNOWLEDGE: ACK.stopped(at(4))}), at(30), "met", 240, None, None),
        # Acknowledged at 7m: missed.
        (state(clocks={ClockName.ACKNOWLEDGE: ACK.stopped(at(7))}), at(30), "missed", 420, None,
         None),
    ],
)  # fmt: skip
def test_a_clock_as_shown(
    sla: SlaState,
    now: datetime,
    status: str,
    elapsed: float,
    breach_at: datetime | None,
    following: tuple[str, datetime | None] | None,
) -> None:
    clock = ack_clock(sla_view("inc-1", sla, now))
    assert clock["status"] == status
    assert clock["elapsed_seconds"] == elapsed
    assert clock["breach_at"] == (None if breach_at is None else format_rfc3339(breach_at))
    expected = None
    if following is not None:
        name, due = following
        expected = {"name": name, "at": None if due is None else format_rfc3339(due)}
    assert clock["next_threshold"] == expected


def test_the_whole_view() -> None:
    view = sla_view("inc-1", state(holds=((at(0.5), at(2.5)),)), at(3))
    assert {k: v for k, v in view.items() if k != "clocks"} == {
        "incident": "inc-1",
        "cycle": 1,
        "priority": "P1",
        "on_hold": False,
        "held_seconds": 120.0,
    }
    assert [c["clock"] for c in view["clocks"]] == ["acknowledge", "resolve"]
    assert sla_view("inc-2", None, T0)["clocks"] == []
