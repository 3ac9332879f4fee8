"""What ``tocsin serve`` knows of its correlator child: running, hung or restarting, and why.

The supervisor (``correlator_process``) updates it; ``/-/ready`` and ``/metrics`` read it.
Times come from the injected clock: whether a child is hung is Tocsin's decision.

A child is live while its event loop ticks (``tocsin.progress.LoopTicker``), however
long its steps take: a storm incident read at start-up once took more than the timeout,
and the parent killed such children fifteen times in a row. Its lag says whether it keeps
up: past the heartbeat timeout it is ``catching up`` (still ready: ingest goes on, the
log keeps every alert for it).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from core.timestamps import format_rfc3339
from tocsin.progress import LAST_STEP_METRIC, LOOP_TICKS_METRIC

LAG_METRIC = "tocsin_correlator_lag_seconds"


class ChildState(enum.StrEnum):
    """Where the child is in its life."""

    STARTING = "starting"  # spawned, no progress seen yet
    RUNNING = "running"  # its event loop ticks and it keeps up with the log
    CATCHING_UP = "catching up"  # live, but behind the log by more than the timeout
    RESTARTING = "restarting"  # it exited or was killed as hung; a new one comes soon
    STOPPED = "stopped"  # the server is stopping


class RestartReason(enum.StrEnum):
    """Why a child was started again: the label of the restarts counter."""

    EXITED = "exited"  # it exited (or was killed) on its own
    HUNG = "hung"  # its event loop did not tick for the heartbeat timeout: the parent killed it


# How long a new child may take to show its first sign of life, however short the
# heartbeat timeout: starting Python, compiling the rules and opening the store can take
# several seconds on a loaded machine, and a child killed for it would be started again,
# and killed again, without ever correlating.
START_GRACE = timedelta(seconds=30)


class ChildHealth:
    """The child's state, its last progress and its restarts, as the parent saw them."""

    def __init__(self, timeout: timedelta) -> None:
        self.timeout = timeout
        self.state = ChildState.STARTING
        self.pid: int | None = None
        self.last_progress_at: datetime | None = None
        self.restarts = {reason: 0 for reason in RestartReason}
        self.last_restart: tuple[RestartReason, datetime] | None = None
        self.lag_seconds: float | None = None
        self._seen: tuple[float | None, float | None] = (None, None)

    def started(self, pid: int, now: datetime) -> None:
        """A new child runs; its grace period before the first sign of life starts now."""
        self.state = ChildState.STARTING
        self.pid = pid
        self.last_progress_at = now
        self.lag_seconds = None
        self._seen = (None, None)

    def saw_metrics(self, text: bytes, now: datetime) -> None:
        """Reads the child's loop ticks and last step: either moving is a sign of life.

        Its lag then says whether it is running or catching up.
        """
        seen = (metric_value(text, LOOP_TICKS_METRIC), metric_value(text, LAST_STEP_METRIC))
        moved = any(
            value is not None and value != before
            for value, before in zip(seen, self._seen, strict=True)
        )
        self._seen = seen
        self.lag_seconds = metric_value(text, LAG_METRIC)
        if not moved:
            return
        self.last_progress_at = now
        behind = self.lag_seconds is not None and self.lag_seconds > self.timeout.total_seconds()
        self.state = ChildState.CATCHING_UP if behind else ChildState.RUNNING

    def is_hung(self, now: datetime) -> bool:
        """Whether the child showed no sign of life for longer than the timeout (or, before
        its first sign of life, than the start-up grace, if that is longer)."""
        if self.last_progress_at is None:
            return False
        allowed = self.timeout
        if self.state is ChildState.STARTING:
            allowed = max(allowed, START_GRACE)
        return now - self.last_progress_at > allowed

    def restarted(self, reason: RestartReason, now: datetime) -> None:
        """The child is gone for ``reason``; a new one will be started."""
        self.state = ChildState.RESTARTING
        self.pid = None
        self.restarts[reason] += 1
        self.last_restart = (reason, now)

    @property
    def ready(self) -> bool:
        """Whether the correlator is there to correlate: started, running or catching up."""
        return self.state in {ChildState.STARTING, ChildState.RUNNING, ChildState.CATCHING_UP}

    def as_json(self) -> dict[str, Any]:
        """The state as ``/-/ready`` shows it."""
        reason, at = self.last_restart if self.last_restart else (None, None)
        return {
            "state": self.state.value,
            "pid": self.pid,
            "last_progress_at": _time(self.last_progress_at),
            "lag_seconds": self.lag_seconds,
            "heartbeat_timeout_seconds": self.timeout.total_seconds(),
            "restarts": {r.value: n for r, n in self.restarts.items()},
            "last_restart": None if reason is None else {"reason": reason.value, "at": _time(at)},
        }


def last_step_value(text: bytes) -> float | None:
    """The value of the last-step gauge in a metrics text, or None if it is not there."""
    return metric_value(text, LAST_STEP_METRIC)


def metric_value(text: bytes, name: str) -> float | None:
    """The value of an unlabelled sample in a metrics text, or None if it is not there."""
    prefix = name.encode() + b" "
    for line in text.splitlines():
        if line.startswith(prefix):
            try:
                return float(line[len(prefix) :])
            except ValueError:
                return None
    return None


def _time(instant: datetime | None) -> str | None:
    return None if instant is None else format_rfc3339(instant)
