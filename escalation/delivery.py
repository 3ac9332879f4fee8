"""Delivery from the outbox: sends due entries, retries transient failures, records results.

Each pass (:meth:`OutboxDelivery.step`) takes the outbox entries due by now
(``due_documents``), hands each to the notifier of its channel's kind, and writes the
entry back with the attempt's result: delivered (filed under no time), retried after an
exponential backoff with jitter (filed under the next attempt), or given up (a permanent
failure such as HTTP 400, an unknown channel, a kind with no notifier yet, or
``max_attempts`` used up). The writes are a document-only store commit (no incident,
no cursor): only delivery rewrites an entry once the stage has created it.

Backoff: attempt ``n`` (from 1) waits ``min(cap, base * 2**(n-1))`` scaled by a factor
drawn from ``[0.5, 1)`` (equal jitter, so peers retrying together spread out) from an
injected random source, so tests are deterministic.

Known limit: two processes delivering from one Redis share no lease on entries yet, so
both could send an entry due at the same moment (the ``webhook-id`` lets receivers drop
the duplicate).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp

from core.clock import Clock
from core.store import CorrelationCommit
from core.store.events import ConsumerWrite, TimelineNote
from core.timestamps import micros
from escalation.page import OUTBOX
from escalation.timeline import NO_METRICS, EscalationMetrics, delivery_notes
from rules.channels import Channel, ChannelKind
from rules.model import Rules

DELIVERY_GROUP = "escalation-delivery"


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one delivery attempt went; ``transient`` failures are retried."""

    ok: bool
    status: int | None  # the receiver's HTTP status, if it answered
    error: str | None
    transient: bool
    # The receiver's Retry-After (e.g. a 429): the retry waits at least this long.
    retry_after: timedelta | None = None


class Notifier(Protocol):
    """Sends one outbox entry on one channel."""

    async def __call__(self, channel: Channel, entry: Mapping[str, Any]) -> Attempt: ...


@dataclass(frozen=True, slots=True)
class NotifierContext:
    """What every notifier factory (``make_<kind>_notifier(context) -> Notifier``) gets.

    ``session`` is the one HTTP client session of the process; ``public_url`` is
    Tocsin's public base URL for links in messages (no trailing slash needed);
    ``links`` makes signed action links (escalation.action_links.ActionLinks), or is
    None when the process has none. ``rules`` gives the rules in force (e.g. the default
    notification text of a channel that has none of its own); None: the built-in texts.
    """

    session: aiohttp.ClientSession
    clock: Clock
    public_url: str
    links: Any = None
    rules: Callable[[], Rules] | None = None


class OutboxStore(Protocol):
    """What delivery needs of a store."""

    async def due_documents(
        self, collection: str, by: datetime, limit: int
    ) -> list[tuple[str, dict[str, Any]]]: ...

    async def commit(self, commit: CorrelationCommit) -> None: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry timing: exponential from ``base`` up to ``cap``, ``max_attempts`` in all."""

    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=5)
    max_attempts: int = 8

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait after the ``attempts``-th failed attempt, with jitter."""
        ceiling: timedelta = min(self.cap, self.base * 2 ** (attempts - 1))
        return ceiling * (0.5 + rng.random() / 2)


class OutboxDelivery:
    """Delivers due outbox entries (see the module docstring)."""

    def __init__(
        self,
        store: OutboxStore,
        rules: Callable[[], Rules],
        clock: Clock,
        notifiers: Mapping[ChannelKind, Notifier],
        *,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        limit: int = 64,
        metrics: EscalationMetrics = NO_METRICS,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``notifiers`` sends per channel kind; a kind without one is given up on.

        ``timer`` (monotonic seconds) measures how long each attempt took.
        """
        self._store = store
        self._rules = rules
        self._clock = clock
        self._notifiers = notifiers
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrecy)
        self._backoff = backoff or Backoff()
        self._limit = limit
        self._metrics = metrics
        self._timer = timer

    async def step(self) -> int:
        """Attempts every entry due now once; returns how many it attempted."""
        now = self._clock.now()
        due = await self._store.due_documents(OUTBOX, now, self._limit)
        rules = self._rules()
        writes: list[ConsumerWrite] = []
        notes: list[TimelineNote] = []
        for key, entry in due:
            started = self._timer()
            attempt = await self._attempt(rules, entry)
            seconds = self._timer() - started
            writes.append(self._recorded(key, entry, attempt, now))
            notes += _noted(rules, writes[-1], entry, seconds, now)
        if writes:
            # Each result goes into its incident's timeline in the same write.
            commit = CorrelationCommit(DELIVERY_GROUP, documents=tuple(writes), notes=tuple(notes))
            await self._store.commit(commit)
            self._metrics.observe(notes)
        return len(due)

    async def run(self, idle: timedelta = timedelta(milliseconds=200)) -> None:
        """Runs passes until cancelled, pausing ``idle`` after a pass with nothing due."""
        while True:
            if await self.step() == 0:
                await asyncio.sleep(idle.total_seconds())

    async def _attempt(self, rules: Rules, entry: Mapping[str, Any]) -> Attempt:
        """Sends the entry through its channel's notifier, or says why it cannot."""
        channel = rules.channels.get(entry["channel"])
        if channel is None:
            return Attempt(False, None, f"channel {entry['channel']} is not in the rules", False)
        notifier = self._notifiers.get(channel.kind)
        if notifier is None:
            return Attempt(False, None, f"no {channel.kind.value} notifier yet", False)
        return await notifier(channel, entry)

    def _recorded(
        self, key: str, entry: Mapping[str, Any], attempt: Attempt, now: datetime
    ) -> ConsumerWrite:
        """The entry written back with the attempt's result and its next attempt, if any."""
        attempts = entry["attempts"] + 1
        result = {
            "at": micros(now),
            "ok": attempt.ok,
            "status": attempt.status,
            "error": attempt.error,
        }
        document = dict(entry, attempts=attempts, results=[*entry["results"], result])
        due: datetime | None = None
        if attempt.ok:
            document["status"] = "delivered"
        elif attempt.transient and attempts < self._backoff.max_attempts:
            document["status"] = "retrying"
            wait = self._backoff.delay(attempts, self._rng)
            due = now + max(wait, attempt.retry_after or wait)
        else:
            document["status"] = "failed"
        return ConsumerWrite(OUTBOX, key, document, due)


def _noted(
    rules: Rules, write: ConsumerWrite, entry: Mapping[str, Any], seconds: float, now: datetime
) -> list[TimelineNote]:
    """The timeline notes of the attempt ``write`` records (escalation.timeline)."""
    recorded = write.document or {}
    last = recorded["results"][-1]
    channel = rules.channels.get(entry["channel"])
    result = {
        "attempt": recorded["attempts"],
        "outcome": recorded["status"],
        "status": last["status"],
        "error": last["error"],
        "will_retry_at": write.due,
        "seconds": seconds,
    }
    kind = "unknown" if channel is None else channel.kind.value
    return delivery_notes(write.key, entry, kind, result, now)
