"""What mutes alerts during a step: the operators' silences, the rules' silences, windows.

The operators' silences live in the store. A step reads them only when the store's
silences revision changed (:class:`SilenceReader`), and compiles each one once per
version, when it is active (:class:`CompiledSilences`): a step with nothing changed
reads one token, and a silence that ended (kept for the retention period) is never
compiled again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from core.silence import Silence, SilenceState
from core.store import SilenceStore
from rules.matchers import Matcher, parse_matcher
from rules.model import Rules


@dataclass(frozen=True, slots=True)
class MuteInForce:
    """A silence or maintenance window active during this step, and why it mutes.

    Worked out once per step (the step's instant is fixed), so each alert only tests
    matchers: operator silences first, then the rules' silences, then maintenance.
    ``key`` names the mute and its version: the mutes in force changed when their keys did.
    """

    matchers: tuple[Matcher, ...]
    reason: str
    key: str = ""


class CompiledSilences:
    """The operators' active silences, compiled once per version and kept by id.

    A silence is compiled when it becomes active or changes (any field: an update may
    change a pending silence's matchers in place), never again each step, and never
    while pending or once expired: a big silence that ended costs nothing here. The
    silences of a step are the very objects of the last read while the store's revision
    holds (SilenceReader), so telling them unchanged is an identity test.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[Silence, MuteInForce]] = {}
        self._compilations = 0  # numbers each compilation: its key says it is new

    def in_force(self, silences: Iterable[Silence], now: datetime) -> list[MuteInForce]:
        """The active silences among ``silences``, compiled; forgets the others."""
        active: list[MuteInForce] = []
        seen: set[str] = set()
        for silence in silences:
            if silence.state(now) is not SilenceState.ACTIVE:
                continue
            found = self._compiled.get(silence.id)
            if found is None or (found[0] is not silence and found[0] != silence):
                self._compilations += 1
                found = (silence, _compile(silence, self._compilations))
            elif found[0] is not silence:
                found = (silence, found[1])  # read again, unchanged: the next test is cheap
            self._compiled[silence.id] = found
            seen.add(silence.id)
            active.append(found[1])
        for gone in self._compiled.keys() - seen:
            del self._compiled[gone]
        return active


def _compile(silence: Silence, compilation: int) -> MuteInForce:
    return MuteInForce(
        tuple(parse_matcher(str(m)) for m in silence.matchers),
        f"silence {silence.id} by {silence.created_by}: {silence.comment}",
        f"silence {silence.id} #{compilation}",
    )


def mutes_in_force(
    silences: Iterable[Silence],
    rules: Rules,
    now: datetime,
    compiled: CompiledSilences | None = None,
) -> tuple[MuteInForce, ...]:
    """The operators' active silences, then the rules' silences and maintenance windows.

    ``compiled`` keeps the operators' silences compiled from one call to the next.
    """
    mutes = (compiled or CompiledSilences()).in_force(silences, now)
    mutes.extend(
        MuteInForce(
            s.matchers, f"silence {s.name or 'from rules'}: {s.comment}", f"rules silence {n}"
        )
        for n, s in enumerate(rules.silences)
        if s.active_at(now)
    )
    mutes.extend(
        MuteInForce(w.matchers, f"maintenance window {w.name} ({w.describe()})", f"window {w.name}")
        for w in rules.maintenance_windows
        if w.active_at(now)
    )
    return tuple(mutes)


class SilenceReader:
    """The operators' silences, read again from the store only when they changed."""

    def __init__(self, store: SilenceStore) -> None:
        self._store = store
        self._revision: str | None = None  # None: never read
        self._silences: list[Silence] = []

    async def read(self) -> list[Silence]:
        """The silences as the store holds them now (expired ones too, until deleted)."""
        revision = await self._store.silences_revision()
        if revision != self._revision:
            # Read after the token: a change in between is read now and again next time.
            self._silences = await self._store.list_silences()
            self._revision = revision
        return self._silences
