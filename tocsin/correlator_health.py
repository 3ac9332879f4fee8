"""What ``tocsin serve`` knows of its correlator child: running, hung or restarting, and why.

The supervisor (``correlator_process``) updates it; ``/-/ready`` and ``/metrics`` read it.
Times come from the injected clock: whether a child is hung is Tocsin's decision.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from core.timestamps import format_rfc3339
from tocsin.progress import LAST_STEP_METRIC


class ChildState(enum.StrEnum):
    """Where the child is in its life."""

    STARTING = "starting"  # spawned, no progress seen yet
    RUNNING = "running"  # its steps move on
    RESTARTING = "restarting"  # it exited or was killed as hung; a new one comes soon
    STOPPED = "stopped"  # the server is stopping


class RestartReason(enum.StrEnum):
    """Why a child was started again: the label of the restarts counter."""

    EXITED = "exited"  # it exited (or was killed) on its own
    HUNG = "hung"  # no progress for the heartbeat timeout: the parent killed it


class ChildHealth:
    """The child's state, its last progress and its restarts, as the parent saw them."""

    def __init__(self, timeout: timedelta) -> None:
        self.timeout = timeout
        self.state = ChildState.STARTING
        self.pid: int | None = None
        self.last_progress_at: datetime | None = None
        self.restarts = {reason: 0 for reason in RestartReason}
        self.last_restart: tuple[RestartReason, datetime] | None = None
        self._last_step_seen: float | None = None

    def started(self, pid: int, now: datetime) -> None:
        """A new child runs; its grace period before the first progress starts now."""
        self.state = ChildState.STARTING
        self.pid = pid
        self.last_progress_at = now
        self._last_step_seen = None

    def saw_metrics(self, text: bytes, now: datetime) -> None:
        """Reads the child's last-step gauge; a value that moved is progress."""
        last_step = last_step_value(text)
        if last_step is not None and last_step != self._last_step_seen:
            self._last_step_seen = last_step
            self.last_progress_at = now
            self.state = ChildState.RUNNING

    def is_hung(self, now: datetime) -> bool:
        """Whether the child showed no progress for longer than the timeout."""
        return self.last_progress_at is not None and now - self.last_progress_at > self.timeout

    def restarted(self, reason: RestartReason, now: datetime) -> None:
        """The child is gone for ``reason``; a new one will be started."""
        self.state = ChildState.RESTARTING
        self.pid = None
        self.restarts[reason] += 1
        self.last_restart = (reason, now)

    @property
    def ready(self) -> bool:
        """Whether the correlator is there to correlate: started or running."""
        return self.state in {ChildState.STARTING, ChildState.RUNNING}

    def as_json(self) -> dict[str, Any]:
        """The state as ``/-/ready`` shows it."""
        reason, at = self.last_restart if self.last_restart else (None, None)
        return {
            "state": self.state.value,
            "pid": self.pid,
            "last_progress_at": _time(self.last_progress_at),
            "heartbeat_timeout_seconds": self.timeout.total_seconds(),
            "restarts": {r.value: n for r, n in self.restarts.items()},
            "last_restart": None if reason is None else {"reason": reason.value, "at": _time(at)},
        }


def last_step_value(text: bytes) -> float | None:
    """The value of the last-step gauge in a metrics text, or None if it is not there."""
    prefix = LAST_STEP_METRIC.encode() + b" "
    for line in text.splitlines():
        if line.startswith(prefix):
            try:
                return float(line[len(prefix) :])
            except ValueError:
                return None
    return None


def _time(instant: datetime | None) -> str | None:
    return None if instant is None else format_rfc3339(instant)
