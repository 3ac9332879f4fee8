"""An incident's SLA clocks as the operator API shows them (``GET .../sla``).

For each clock of the current cycle: its target, its time so far (less the time on
hold), its status and, while it runs, when it breaches and which threshold is next:

- ``running``: counting, not yet at the target; ``paused``: on hold;
- ``breached``: still counting, past the target;
- ``met`` / ``missed``: stopped (acknowledged; resolved) within / past the target.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.timestamps import format_rfc3339
from escalation.sla_state import ClockName, ClockRun, SlaState
from rules.durations import format_duration


def sla_view(incident_id: str, state: SlaState | None, now: datetime) -> dict[str, Any]:
    """The JSON body; no clocks while the SLA stage has not seen the incident yet."""
    if state is None:
        return {
            "incident": incident_id,
            "cycle": None,
            "priority": None,
            "on_hold": False,
            "held_seconds": 0.0,
            "clocks": [],
        }
    held = (now - state.started) - state.elapsed(now)
    return {
        "incident": incident_id,
        "cycle": state.cycle,
        "priority": state.priority,
        "on_hold": state.paused_since is not None,
        "held_seconds": held.total_seconds(),
        "clocks": [
            _clock(state, name, run, now) for name in ClockName if (run := state.clocks.get(name))
        ],
    }


def _clock(state: SlaState, name: ClockName, run: ClockRun, now: datetime) -> dict[str, Any]:
    stopped = run.stopped_at
    elapsed = state.elapsed(stopped or now)
    breach = next(t for t in run.thresholds if t.breach)
    if stopped is not None:
        status = "met" if elapsed <= run.within else "missed"
    elif elapsed >= run.within:
        status = "breached"
    else:
        status = "paused" if state.paused_since is not None else "running"
    pending = state.pending(name)
    upcoming = [t for t in pending if t.elapsed > elapsed]
    following = upcoming[0] if upcoming else None
    due = None if following is None else state.due_of(following)
    breach_at = None if stopped is not None else state.due_of(breach)
    return {
        "clock": name.value,
        "target": format_duration(run.within),
        "target_seconds": run.within.total_seconds(),
        "elapsed_seconds": max(elapsed.total_seconds(), 0.0),
        "status": status,
        "stopped_at": None if stopped is None else format_rfc3339(stopped),
        "breach_at": None if breach_at is None else format_rfc3339(breach_at),
        "next_threshold": None
        if following is None
        else {"name": following.name, "at": None if due is None else format_rfc3339(due)},
        "handled": list(run.handled),
    }
