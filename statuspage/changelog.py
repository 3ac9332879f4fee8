"""The page's generation: how every replica's site learns what the one writer changed.

With the Redis store only the replica holding the writer's lease applies events; the
others must still serve a current site. Each writer step that writes moves a counter on
(the *generation*, in ``records.STATE`` under ``records.CHANGES_KEY``) in the same atomic
write as its documents and cursor, and keeps what its latest :data:`KEEP` steps changed.
Any replica reads that one small document, and :func:`changes_since` tells it what
changed since the generation it last saw: the union of the steps it missed, or
everything when it has missed more than are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.store import Store
from statuspage import records as rec


@dataclass(frozen=True, slots=True)
class Changes:
    """What a step changed, for the site to rebuild only that (``everything``: all)."""

    incidents: frozenset[str] = frozenset()
    components: frozenset[str] = frozenset()
    maintenances: frozenset[str] = frozenset()
    everything: bool = False

    def __bool__(self) -> bool:
        return bool(self.everything or self.incidents or self.components or self.maintenances)

    def __or__(self, other: Changes) -> Changes:
        """Both changes together."""
        return Changes(
            self.incidents | other.incidents,
            self.components | other.components,
            self.maintenances | other.maintenances,
            self.everything or other.everything,
        )


KEEP = 64
# A step that changed more ids than this is kept as "everything" (the log stays small).
MAX_IDS = 500


def generation_of(raw: dict[str, Any] | None) -> int:
    """The generation a stored change log holds (0 before the first step)."""
    return int(raw["generation"]) if raw else 0


def advance(raw: dict[str, Any] | None, changes: Changes) -> dict[str, Any]:
    """The change log after one more step that changed ``changes``."""
    generation = generation_of(raw) + 1
    ids = len(changes.incidents) + len(changes.components) + len(changes.maintenances)
    entry: dict[str, Any] = (
        {"everything": True}
        if changes.everything or ids > MAX_IDS
        else {
            "i": sorted(changes.incidents),
            "c": sorted(changes.components),
            "m": sorted(changes.maintenances),
        }
    )
    recent = list(raw["recent"]) if raw else []
    recent.append([generation, entry])
    return {"generation": generation, "recent": recent[-KEEP:]}


def since(raw: dict[str, Any] | None, seen: int | None) -> tuple[int, Changes]:
    """The generation now and what changed after generation ``seen`` (None: never saw)."""
    generation = generation_of(raw)
    if seen is None or seen > generation:
        return generation, Changes(everything=True)  # new, or the store was replaced
    if seen == generation:
        return generation, Changes()
    recent = [(int(g), e) for g, e in (raw["recent"] if raw else []) if int(g) > seen]
    if not recent or recent[0][0] != seen + 1:
        return generation, Changes(everything=True)  # missed more steps than are kept
    found = Changes()
    for _, entry in recent:
        found = found | Changes(
            frozenset(entry.get("i", ())),
            frozenset(entry.get("c", ())),
            frozenset(entry.get("m", ())),
            bool(entry.get("everything")),
        )
    return generation, found


async def changes_since(store: Store, seen: int | None) -> tuple[int, Changes]:
    """Reads the change log: the generation now and what changed after ``seen``."""
    raw = (await store.consumer_documents(rec.STATE, [rec.CHANGES_KEY])).get(rec.CHANGES_KEY)
    return since(raw, seen)
