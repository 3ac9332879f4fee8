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

Before sending, a pass sorts its due entries (``escalation.delivery_plan``): stale
pages of an escalation acknowledged or resolved since are dropped (recorded, never
sent), a paused channel's entries wait and a channel due a probe gets one entry
(``escalation.pausing``), and a person flooded on a channel gets a bundled message
(``escalation.bundling``). Each job is claimed (filed under a lease) and put in its
channel's lane (``escalation.lanes``): a channel sends at most ``notifications.
concurrency`` at once, each send within the channel's timeout, and no channel waits for
another; each result is committed as soon as it is known, those known while a commit
is under way together in the next one (``escalation.delivery_results``).

Delivery takes no lease of its own: ``tocsin serve`` runs passes only on the member that
holds the escalation stage's lease (``tocsin.escalation_task``), so replicas on one
Redis do not send an entry twice. It is at least once: a member killed after a send and
before its commit leaves the entry due, and the next member sends it again under the
same key (the ``webhook-id`` lets receivers drop the duplicate).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
import structlog

from core.clock import Clock
from core.store import CorrelationCommit
from core.store.events import ConsumerWrite, TimelineNote
from core.timestamps import micros
from escalation.delivery_plan import attempt_timeout, plan
from escalation.delivery_results import ResultCommits
from escalation.lanes import Job, Lanes
from escalation.page import OUTBOX
from escalation.pausing import CHANNELS, ChannelState, after
from escalation.timeline import NO_METRICS, EscalationMetrics, channel_notes, delivery_notes
from escalation.webhook_http import WebhookClient
from rules.channels import Channel, ChannelKind
from rules.model import Rules

DELIVERY_GROUP = "escalation-delivery"

log = structlog.get_logger("tocsin.delivery")


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

    ``session`` is the one HTTP client session of the process (the webhook notifier
    sends through ``webhooks`` instead, a lighter client of its own); ``public_url`` is
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
    # The webhook notifier's kept-alive connections (escalation.webhook_http); its owner
    # closes them on shutdown.
    webhooks: WebhookClient = field(default_factory=WebhookClient)


class OutboxStore(Protocol):
    """What delivery needs of a store."""

    async def due_documents(
        self, collection: str, by: datetime, limit: int
    ) -> list[tuple[str, dict[str, Any]]]: ...

    async def commit(self, commit: CorrelationCommit) -> None: ...

    async def consumer_documents(
        self, collection: str, keys: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...


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
        self._lanes = Lanes(self._deliver)
        self._results = ResultCommits(DELIVERY_GROUP, store.commit, metrics.observe)
        # Each channel's pause state as this member last wrote it (read once from the store).
        self._channels: dict[str, ChannelState] = {}

    async def step(self) -> int:
        """Attempts every entry due now once and waits for the results; returns how many.

        For tests and one-off passes: it waits for every lane, slow channels included. A
        serving loop calls :meth:`dispatch` (as :meth:`run` does), which never waits.
        """
        handled = await self.dispatch()
        await self._lanes.settle()
        return handled

    async def dispatch(self) -> int:
        """Sorts the entries due now and hands their jobs to the channels' lanes.

        Returns how many due entries it handled, without waiting for any send.
        """
        now = self._clock.now()
        due = await self._store.due_documents(OUTBOX, now, self._limit)
        if not due:
            return 0
        rules = self._rules()
        planned = await plan(self._store, rules, due, now, self._channel_state)
        if planned.writes:
            # The claims, drops, holds and waits in one write, before anything is sent.
            commit = CorrelationCommit(
                DELIVERY_GROUP, documents=tuple(planned.writes), notes=tuple(planned.notes)
            )
            await self._store.commit(commit)
            self._metrics.observe(planned.notes)
        for name, jobs in planned.jobs.items():
            self._lanes.put(name, jobs, rules.notifications.concurrency)
        return len(due)

    async def run(self, idle: timedelta = timedelta(milliseconds=200)) -> None:
        """Hands out due entries until cancelled, pausing ``idle`` when nothing was due."""
        try:
            while True:
                if await self.dispatch() == 0:
                    await asyncio.sleep(idle.total_seconds())
        finally:
            await self.close()

    async def close(self) -> None:
        """Stops the sends under way (their entries stay claimed until their lease ends)
        and waits for the results known by then to be committed."""
        await self._lanes.close()
        await self._results.close()

    def channel_states(self) -> dict[str, ChannelState]:
        """Each channel's failures and pause as this member knows them (for status and API)."""
        return dict(self._channels)

    async def _channel_state(self, name: str) -> ChannelState:
        """The channel's pause state: this member's, else the store's."""
        known = self._channels.get(name)
        if known is None:
            stored = await self._store.consumer_documents(CHANNELS, [name])
            known = self._channels[name] = ChannelState.from_document(stored.get(name))
        return known

    async def _deliver(self, job: Job) -> None:
        """Attempts one job within its channel's timeout and commits its result."""
        rules = self._rules()
        started = self._timer()
        reached, attempt = await self._attempt_within(rules, job)
        seconds = self._timer() - started
        now = self._clock.now()
        writes: list[ConsumerWrite] = []
        notes: list[TimelineNote] = []
        for key, entry in job.members:
            write = self._recorded(key, entry, attempt, now)
            if len(job.members) > 1 and write.document is not None:
                write = ConsumerWrite(
                    OUTBOX, key, dict(write.document, bundled_in=job.send["key"]), write.due
                )
            writes.append(write)
            notes += _noted(rules, write, entry, seconds, now, job)
        if reached:
            notes += self._paused_or_resumed(rules, job, attempt, now, writes)
        await self._results.record(writes, notes)

    async def _attempt_within(self, rules: Rules, job: Job) -> tuple[bool, Attempt]:
        """The attempt's outcome, and whether the channel's notifier was tried at all."""
        channel = rules.channels.get(job.channel)
        if channel is None or channel.kind not in self._notifiers:
            return False, await self._attempt(rules, job.send)
        timeout = attempt_timeout(rules, job.channel)
        try:
            async with asyncio.timeout(timeout.total_seconds()):
                return True, await self._attempt(rules, job.send)
        except TimeoutError:
            return True, Attempt(False, None, f"no answer within {timeout}", True)

    def _paused_or_resumed(
        self, rules: Rules, job: Job, attempt: Attempt, now: datetime, writes: list[ConsumerWrite]
    ) -> list[TimelineNote]:
        """Counts the attempt for the channel's pausing; the notes if it paused or resumed."""
        before = self._channels.get(job.channel, ChannelState())
        tuning = rules.notifications.pause
        change = after(before, attempt.ok, attempt.error, tuning, now, attempt.retry_after)
        self._channels[job.channel] = change.state
        if change.state != before:
            writes.append(ConsumerWrite(CHANNELS, job.channel, change.state.to_document(), None))
        if change.what is None:
            return []
        paused = change.what == "channel_paused"
        state = change.state
        if paused:
            reason = f"{state.failures} failures in a row (last: {state.last_error})"
            log.warning(
                "channel paused", channel=job.channel, until=state.paused_until, reason=reason
            )
        else:
            reason = "a probe got through: delivering again"
            log.info("channel resumed", channel=job.channel)
        incidents = [e["incident"] for _, e in job.members]
        return channel_notes(incidents, job.channel, paused, reason, state.paused_until, now)

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
    rules: Rules,
    write: ConsumerWrite,
    entry: Mapping[str, Any],
    seconds: float,
    now: datetime,
    job: Job,
) -> list[TimelineNote]:
    """The timeline notes of the attempt ``write`` records (escalation.timeline); an
    entry sent in a bundled message names it (``bundled_in``), which metrics count once."""
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
    if len(job.members) > 1:
        result["bundled_in"] = job.send["key"]
    kind = "unknown" if channel is None else channel.kind.value
    return delivery_notes(write.key, entry, kind, result, now)
