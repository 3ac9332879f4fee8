"""Channel pausing: a channel that keeps failing waits, and is probed again after a backoff.

Each channel has a :class:`ChannelState` in the consumer collection ``channels`` (key:
the channel's name). Delivery asks :func:`gate` before sending a channel's entries:

- ``open``: deliver as usual;
- ``paused``: the channel is paused until ``paused_until``; its due entries are filed
  under that time (they wait: nothing is lost, no attempt is counted);
- ``probe``: the pause is over; one entry is attempted, the others wait for its outcome.

After each attempt delivery tells :func:`after` how it went: a success resumes the
channel and resets the count; a failure counts, and ``after_failures`` failures in a row
pause it for ``backoff``; a failed probe pauses it again for twice the last backoff, up
to ``max_backoff`` (rules ``notifications.pause``). A failure whose receiver asked to
wait (``Retry-After``, e.g. a 429) pauses the channel at least that long, also when it
is a probe: the next probe never comes before the receiver said.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core.timestamps import from_micros, micros
from rules.notifications import Pausing

CHANNELS = "channels"


class Gate(enum.StrEnum):
    """What delivery may do with a channel now."""

    OPEN = "open"
    PAUSED = "paused"
    PROBE = "probe"


@dataclass(frozen=True, slots=True)
class ChannelState:
    """A channel's failures in a row and its pause, if it is paused."""

    failures: int = 0
    paused_until: datetime | None = None
    backoff: timedelta | None = None  # the pause's length (None: not paused)
    paused_since: datetime | None = None
    last_error: str | None = None

    @property
    def paused(self) -> bool:
        """Tells whether the channel is paused (waiting, or due a probe)."""
        return self.paused_until is not None

    def to_document(self) -> dict[str, Any]:
        """Returns the state as JSON-ready values."""
        return {
            "failures": self.failures,
            "paused_until": None if self.paused_until is None else micros(self.paused_until),
            "backoff": None if self.backoff is None else self.backoff.total_seconds(),
            "paused_since": None if self.paused_since is None else micros(self.paused_since),
            "last_error": self.last_error,
        }

    @classmethod
    def from_document(cls, raw: Mapping[str, Any] | None) -> ChannelState:
        """Reads back what :meth:`to_document` wrote (None: a channel never seen failing)."""
        if raw is None:
            return cls()
        until, backoff, since = raw["paused_until"], raw["backoff"], raw["paused_since"]
        return cls(
            raw["failures"],
            None if until is None else from_micros(until),
            None if backoff is None else timedelta(seconds=backoff),
            None if since is None else from_micros(since),
            raw["last_error"],
        )


def gate(state: ChannelState, now: datetime) -> Gate:
    """What delivery may do with the channel at ``now``."""
    if state.paused_until is None:
        return Gate.OPEN
    return Gate.PAUSED if state.paused_until > now else Gate.PROBE


@dataclass(frozen=True, slots=True)
class Change:
    """The channel's state after an attempt, and what happened to it (for logs and notes)."""

    state: ChannelState
    what: str | None  # "channel_paused", "channel_resumed", or None: nothing to tell


def after(
    state: ChannelState,
    ok: bool,
    error: str | None,
    tuning: Pausing,
    now: datetime,
    retry_after: timedelta | None = None,
) -> Change:
    """The channel's state after one attempt at ``now`` (see the module docstring).

    ``retry_after``: how long the receiver asked to wait (its ``Retry-After``), if it did.
    """
    wait = retry_after or timedelta(0)
    if ok:
        if state.paused:
            return Change(ChannelState(), "channel_resumed")
        return Change(ChannelState(), None) if state.failures else Change(state, None)
    failures = state.failures + 1
    if state.paused:
        assert state.backoff is not None
        backoff = min(state.backoff * 2, tuning.max_backoff)
        paused = replace(
            state,
            failures=failures,
            paused_until=now + max(backoff, wait),
            backoff=backoff,
            last_error=error,
        )
        return Change(paused, "channel_paused")
    if failures < tuning.after_failures:
        return Change(replace(state, failures=failures, last_error=error), None)
    paused = ChannelState(failures, now + max(tuning.backoff, wait), tuning.backoff, now, error)
    return Change(paused, "channel_paused")
