"""Bundling: a recipient flooded on one channel gets one message listing the rest.

Per recipient and channel (consumer collection ``bundles``, key ``person:channel``, or
``:channel`` for a channel paged as itself, no person) delivery keeps when it sent in
the last ``window`` (rules ``notifications.bundle``). Up to ``max`` messages go out one
by one within any window; past that, the entries are *held* (status ``bundling``, filed
under the hold's end, one window after the first was held, their keys kept in the
state) and go out together at its end as **one bundled message** listing every entry
held in that window (one held entry alone goes as itself). So a recipient gets at most
``max`` messages and one bundle per channel within any window, however many entries a
storm makes: at the hold's end delivery reads all the held entries by their keys
(:func:`held_keys`), not only those its pass took.

The bundled message is an outbox-like entry (:func:`bundle_entry`): the first held
entry's fields, ``kind: "bundle"``, a key of its own (``bundle:person:channel:<first
key>``), ``bundle``, the list of what it replaces, and ``incidents``, their ids. Each
held entry then records the bundle's result and ``bundled_in``.

Cost: the state keeps one key per held entry and is rewritten by each pass that holds
more, so a hold of ``n`` entries writes O(n²/limit) bytes over its window (1,000
incidents to one recipient: about 0.5 MB; 100,000 would be some GB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.timestamps import from_micros, micros
from rules.notifications import Bundling

BUNDLES = "bundles"
HELD = "bundling"  # the status of an entry held for a bundle

Entry = tuple[str, Mapping[str, Any]]


def bundle_key(person: str | None, channel: str) -> str:
    """The key of a recipient's bundling state on a channel (no person: the channel's).

    Names never hold ``:`` nor are empty, so a channel's key is no person's.
    """
    return f"{person or ''}:{channel}"


@dataclass(frozen=True, slots=True)
class BundleState:
    """When messages went to one recipient on one channel lately, and the hold if any:
    its end (``release``) and the keys of the entries held for it (``held``)."""

    sent: tuple[datetime, ...] = ()
    release: datetime | None = None
    held: tuple[str, ...] = ()

    def to_document(self) -> dict[str, Any]:
        """Returns the state as JSON-ready values; ``sent`` as ``[time, count]`` runs (the
        messages of one pass share a time: a channel taking a thousand a window writes a
        few runs, not a thousand times)."""
        runs: list[list[int]] = []
        for at in self.sent:
            if runs and runs[-1][0] == micros(at):
                runs[-1][1] += 1
            else:
                runs.append([micros(at), 1])
        return {
            "sent": runs,
            "release": None if self.release is None else micros(self.release),
            "held": list(self.held),
        }

    @classmethod
    def from_document(cls, raw: Mapping[str, Any] | None) -> BundleState:
        """Reads back what :meth:`to_document` wrote (None: nothing sent lately)."""
        if raw is None:
            return cls()
        release = raw["release"]
        sent: list[datetime] = []
        for run in raw["sent"]:
            # A run, or a bare time (a state written before runs: one message each).
            at, count = (run, 1) if isinstance(run, int) else (run[0], run[1])
            sent += [from_micros(at)] * count
        return cls(
            tuple(sent),
            None if release is None else from_micros(release),
            tuple(raw.get("held", ())),  # a state written before held keys were kept: none
        )


def held_keys(state: BundleState, now: datetime) -> tuple[str, ...]:
    """The keys of the entries held for a bundle that is due at ``now`` (else none)."""
    if state.release is None or state.release > now:
        return ()
    return state.held


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one recipient's due entries on one channel."""

    state: BundleState
    single: tuple[Entry, ...]  # sent one by one now
    bundle: tuple[Entry, ...]  # sent now as one bundled message (two or more)
    held: tuple[Entry, ...]  # held until ``state.release``


def plan(state: BundleState, entries: Sequence[Entry], tuning: Bundling, now: datetime) -> Plan:
    """Decides which of a recipient's due entries on a channel go alone, bundled, or wait.

    At a hold's end ``entries`` must hold every entry still held (:func:`held_keys`).
    """
    recent = [t for t in state.sent if t > now - tuning.window]
    if state.release is not None and state.release > now:
        held = tuple(dict.fromkeys([*state.held, *(key for key, _ in entries)]))
        return Plan(BundleState(tuple(recent), state.release, held), (), (), tuple(entries))
    was_held = [e for e in entries if e[1].get("status") == HELD]
    fresh = [e for e in entries if e[1].get("status") != HELD]
    single: list[Entry] = []
    bundle: tuple[Entry, ...] = ()
    if len(was_held) >= 2:
        bundle = tuple(was_held)
        recent.append(now)
    else:
        fresh = was_held + fresh  # one held entry alone goes as itself
    room = max(tuning.max - len(recent), 0)
    single = fresh[:room]
    over = fresh[room:]
    recent.extend(now for _ in single)
    release = now + tuning.window if over else None
    held = tuple(key for key, _ in over)
    return Plan(BundleState(tuple(recent), release, held), tuple(single), bundle, tuple(over))


def bundle_entry(members: Sequence[Entry]) -> dict[str, Any]:
    """The one message that replaces ``members`` (see the module docstring)."""
    first_key, first = members[0]
    listed = [
        {
            "key": key,
            "kind": entry.get("kind", "page"),
            "incident": entry["incident"],
            "title": entry["title"],
            "state": entry["state"],
            "priority": entry["priority"],
            "service": entry["service"],
        }
        for key, entry in members
    ]
    return dict(
        first,
        key=f"bundle:{bundle_key(first['person'], first['channel'])}:{first_key}",
        kind="bundle",
        title=f"{len(members)} notifications",
        bundle=listed,
        incidents=list(dict.fromkeys(entry["incident"] for _, entry in members)),
    )
