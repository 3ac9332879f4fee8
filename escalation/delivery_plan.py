"""What delivery does with the outbox entries due now, before anything is sent.

:func:`plan` sorts a pass's due entries:

- an **update** (``escalation.updates``) goes only to a recipient whose page got
  through: it waits while the page is on its way and is dropped (recorded, noted) if
  the page failed or was dropped;
- **stale** pages are dropped: a page of an escalation step whose generation is older
  than its escalation's (acknowledged, resolved, restarted or unmuted since it was
  scheduled, e.g. a contact method's later delay) is recorded ``dropped`` with the
  reason, on the entry and as a ``not_paged`` timeline note, and never sent;
- entries of a **paused** channel wait: filed again under the pause's end, untouched
  (no attempt counted); when the pause is over one entry **probes** the channel and the
  others wait for it (``escalation.pausing``);
- the rest are **bundled** per recipient (a person, or a channel paged as itself) and
  channel (``escalation.bundling``): sent one by one, held for a bundle, or sent as one
  bundled message; at a hold's end the pass reads every entry held for it, also those
  past its own ``limit`` of due entries, so the bundle holds them all;
- every job to send is **claimed**: its entries filed under ``now + lease`` in the same
  write, so the next pass does not hand them out again while they are in flight, and a
  process that died mid-send has them back once the lease ends.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.store.events import ConsumerWrite, TimelineNote
from core.timestamps import micros
from escalation.bundling import BUNDLES, HELD, BundleState, bundle_entry, bundle_key, held_keys
from escalation.bundling import plan as plan_bundles
from escalation.lanes import Entry, Job
from escalation.page import OUTBOX
from escalation.pausing import ChannelState, Gate, gate
from escalation.state import COLLECTION
from escalation.timeline import DELIVERY_ACTOR, NOT_PAGED, channel_notes, not_paged_code
from rules.model import Rules
from rules.notifications import Bundling

# How long a send may take when its channel sets no timeout of its own.
DEFAULT_ATTEMPT_TIMEOUT = timedelta(seconds=30)
# Added to a claim's lease: the store write after the send. Short, because a member killed
# mid-send leaves its claimed entries to the next member only when the lease ends.
_LEASE_MARGIN = timedelta(seconds=5)
# How long an update waits before looking again at its recipient's page on its way.
_PAGE_WAIT = timedelta(seconds=5)
# A page in these states never reached its recipient (and never will).
_NEVER_SENT = frozenset({"failed", "dropped"})


class PlanStore(Protocol):
    """What planning reads: escalation and bundling documents."""

    async def consumer_documents(
        self, collection: str, keys: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...


@dataclass
class Planned:
    """The writes and notes of a pass's planning, and the jobs to send per channel."""

    writes: list[ConsumerWrite] = field(default_factory=list)
    notes: list[TimelineNote] = field(default_factory=list)
    jobs: dict[str, list[Job]] = field(default_factory=dict)


def attempt_timeout(rules: Rules, channel_name: str) -> timedelta:
    """How long one send on the channel may take: its ``timeout``, else the default."""
    channel = rules.channels.get(channel_name)
    timeout = getattr(channel.config, "timeout", None) if channel is not None else None
    return timeout if isinstance(timeout, timedelta) else DEFAULT_ATTEMPT_TIMEOUT


async def plan(
    store: PlanStore,
    rules: Rules,
    due: Sequence[Entry],
    now: datetime,
    channel_state: Callable[[str], Awaitable[ChannelState]],
) -> Planned:
    """Sorts the due entries (see the module docstring)."""
    planned = Planned()
    bundles = await _bundle_states(store, due)
    due = await _with_held(store, due, bundles, now)
    live = await _drop_stale(store, due, now, planned)
    live = await _after_pages(store, live, now, planned)
    by_channel: dict[str, list[Entry]] = {}
    for key, entry in live:
        by_channel.setdefault(entry["channel"], []).append((key, entry))
    tuning = rules.notifications
    for name, entries in by_channel.items():
        timeout = attempt_timeout(rules, name)
        state = await channel_state(name)
        opened = gate(state, now)
        if opened is Gate.PAUSED:
            _wait_for_pause(name, entries, state, now, planned)
            continue
        jobs: list[Job]
        if opened is Gate.PROBE:
            # One entry probes the channel; the others wait for its outcome.
            jobs = [Job(name, entries[0][1], (entries[0],))]
            planned.writes += [_filed(k, e, now + timeout + _LEASE_MARGIN) for k, e in entries[1:]]
        else:
            jobs = _bundled(name, entries, bundles, tuning.bundle, now, planned)
        lease = timeout * math.ceil(len(jobs) / tuning.concurrency) + _LEASE_MARGIN
        for job in jobs:
            planned.writes += [_filed(k, e, now + lease) for k, e in job.members]
        if jobs:
            planned.jobs[name] = jobs
    return planned


def _wait_for_pause(
    name: str, entries: list[Entry], state: ChannelState, now: datetime, planned: Planned
) -> None:
    """Files the entries under the pause's end; each new wait noted on its timeline once."""
    until = state.paused_until
    assert until is not None
    new: list[str] = []
    for key, entry in entries:
        if entry.get("waiting_for") == micros(until):
            planned.writes.append(_filed(key, entry, until))
            continue
        planned.writes.append(_filed(key, dict(entry, waiting_for=micros(until)), until))
        new.append(entry["incident"])
    reason = f"paused after {state.failures} failures in a row: entries wait"
    planned.notes += channel_notes(new, name, True, reason, until, now)


def _filed(key: str, entry: Mapping[str, Any], due: datetime) -> ConsumerWrite:
    """The entry as it is, filed under ``due``."""
    return ConsumerWrite(OUTBOX, key, entry, due)


def _is_step_page(key: str, entry: Mapping[str, Any]) -> bool:
    """Tells whether the entry pages an escalation step (its key carries the generation)."""
    if entry.get("kind", "page") != "page":
        return False
    return key.startswith(f"{entry['incident']}:{entry['generation']}:")


async def _drop_stale(
    store: PlanStore, due: Sequence[Entry], now: datetime, planned: Planned
) -> list[Entry]:
    """Records stale pages as dropped; returns the others."""
    pages = [(k, e) for k, e in due if _is_step_page(k, e)]
    if not pages:
        return list(due)
    current = await store.consumer_documents(COLLECTION, list({e["incident"] for _, e in pages}))
    live: list[Entry] = []
    for key, entry in due:
        escalation = current.get(entry["incident"])
        if (
            escalation is None
            or not _is_step_page(key, entry)
            or escalation["generation"] <= entry["generation"]
        ):
            live.append((key, entry))
            continue
        who = f"{entry['person'] or 'channel'} on {entry['channel']}"
        reason = (
            f"stale page: {who} not sent; the escalation was acknowledged, resolved or "
            f"restarted since it was scheduled (generation {entry['generation']}, "
            f"now {escalation['generation']})"
        )
        _drop(key, entry, reason, now, planned)
    return live


async def _after_pages(
    store: PlanStore, due: Sequence[Entry], now: datetime, planned: Planned
) -> list[Entry]:
    """Updates wait for their recipient's page, and are dropped if it never got through."""
    updates = [e for _, e in due if e.get("after_pages")]
    if not updates:
        return list(due)
    keys = list(dict.fromkeys(p for e in updates for p in e["after_pages"]))
    pages = await store.consumer_documents(OUTBOX, keys)
    live: list[Entry] = []
    for key, entry in due:
        after = entry.get("after_pages")
        statuses = [pages.get(p, {}).get("status", "failed") for p in after or ()]
        if not after or "delivered" in statuses:
            live.append((key, entry))
        elif all(status in _NEVER_SENT for status in statuses):
            who = f"{entry['person'] or 'channel'} on {entry['channel']}"
            reason = f"update not sent: the page of {who} never got through (failed or dropped)"
            _drop(key, entry, reason, now, planned)
        else:
            planned.writes.append(_filed(key, entry, now + _PAGE_WAIT))
    return live


def _drop(key: str, entry: Mapping[str, Any], reason: str, now: datetime, planned: Planned) -> None:
    """Records the entry as dropped, never sent, with a ``not_paged`` note saying why."""
    result = {"at": micros(now), "ok": False, "status": None, "error": reason}
    document = dict(entry, status="dropped", results=[*entry["results"], result])
    planned.writes.append(ConsumerWrite(OUTBOX, key, document, None))
    detail = {
        "reason": reason,
        "code": not_paged_code(reason),
        "key": key,
        "person": entry["person"],
        "channel": entry["channel"],
    }
    planned.notes.append(TimelineNote(entry["incident"], NOT_PAGED, now, DELIVERY_ACTOR, detail))


async def _bundle_states(store: PlanStore, due: Sequence[Entry]) -> dict[str, BundleState]:
    """The bundling states of every recipient with an entry due, by ``bundling.bundle_key``."""
    keys = list(dict.fromkeys(bundle_key(e["person"], e["channel"]) for _, e in due))
    if not keys:
        return {}
    stored = await store.consumer_documents(BUNDLES, keys)
    return {key: BundleState.from_document(stored.get(key)) for key in keys}


async def _with_held(
    store: PlanStore, due: Sequence[Entry], states: Mapping[str, BundleState], now: datetime
) -> list[Entry]:
    """The due entries and every other entry still held for a bundle due now.

    A pass takes at most its ``limit`` of due entries: without these, a hold bigger than
    that would go out as one bundle per pass.
    """
    have = {key for key, _ in due}
    missing = list(
        dict.fromkeys(k for s in states.values() for k in held_keys(s, now) if k not in have)
    )
    if not missing:
        return list(due)
    found = await store.consumer_documents(OUTBOX, missing)
    held = [(k, found[k]) for k in missing if found.get(k, {}).get("status") == HELD]
    return [*due, *held]


def _held_note(
    key: str, entry: Mapping[str, Any], tuning: Bundling, release: datetime, now: datetime
) -> TimelineNote:
    """``not_paged`` for an entry held for a bundle: why, and when the bundle goes."""
    channel = entry["channel"]
    who = entry["person"] or f"channel {channel} (paged as itself)"
    reason = (
        f"bundled: {who} had {tuning.max} messages on {channel} within "
        f"{tuning.window}; this one goes in one bundled message at {release.isoformat()}"
    )
    detail = {
        "reason": reason,
        "code": not_paged_code(reason),
        "key": key,
        "person": entry["person"],
        "channel": entry["channel"],
    }
    return TimelineNote(entry["incident"], NOT_PAGED, now, DELIVERY_ACTOR, detail)


def _bundled(
    name: str,
    entries: list[Entry],
    states: Mapping[str, BundleState],
    tuning: Bundling,
    now: datetime,
    planned: Planned,
) -> list[Job]:
    """The channel's jobs after bundling per recipient (a person, or the channel paged as
    itself); held entries and states written."""
    jobs: list[Job] = []
    by_person: dict[str | None, list[Entry]] = {}
    for key, entry in entries:
        by_person.setdefault(entry["person"], []).append((key, entry))
    for person, mine in by_person.items():
        state_key = bundle_key(person, name)
        before = states[state_key]
        decided = plan_bundles(before, mine, tuning, now)
        jobs += [Job(name, entry, ((key, entry),)) for key, entry in decided.single]
        if decided.bundle:
            jobs.append(Job(name, bundle_entry(decided.bundle), decided.bundle))
        release = decided.state.release
        for key, entry in decided.held:
            assert release is not None
            planned.writes.append(ConsumerWrite(OUTBOX, key, dict(entry, status=HELD), release))
            if entry.get("status") != HELD:
                planned.notes.append(_held_note(key, entry, tuning, release, now))
        if decided.state != before:
            planned.writes.append(
                ConsumerWrite(BUNDLES, state_key, decided.state.to_document(), None)
            )
    return jobs
