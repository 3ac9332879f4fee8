"""The typed context that flows through the correlation stages for one round of log entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.silence import Silence, SilenceState
from correlate.firing import FiringIndex
from correlate.routes import RouteCache, RoutedGroups
from correlate.working import WorkingSet
from rules.correlation import Tuning
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

    A silence is compiled when it becomes active or changes (its times), never again
    each step, and never while pending or once expired: a big silence that ended costs
    nothing here.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[tuple[object, ...], MuteInForce]] = {}

    def in_force(self, silences: Iterable[Silence], now: datetime) -> list[MuteInForce]:
        """The active silences among ``silences``, compiled; forgets the others."""
        active: list[MuteInForce] = []
        seen: set[str] = set()
        for silence in silences:
            if silence.state(now) is not SilenceState.ACTIVE:
                continue
            version = (silence.starts_at, silence.ends_at, silence.created_at)
            found = self._compiled.get(silence.id)
            if found is None or found[0] != version:
                found = (version, _compile(silence, version))
                self._compiled[silence.id] = found
            seen.add(silence.id)
            active.append(found[1])
        for gone in self._compiled.keys() - seen:
            del self._compiled[gone]
        return active


def _compile(silence: Silence, version: tuple[object, ...]) -> MuteInForce:
    return MuteInForce(
        tuple(parse_matcher(str(m)) for m in silence.matchers),
        f"silence {silence.id} by {silence.created_by}: {silence.comment}",
        f"silence {silence.id} {version}",
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


@dataclass(frozen=True, slots=True)
class CorrelationContext:
    """What the stages know about the entries being correlated (one per alert: see rounds).

    ``positions`` maps each alert's fingerprint to the log position of its entry, and
    ``groups`` to the routes it ends in, each with its group key, in tree order.
    ``mutes`` maps a fingerprint to why its notifications are muted (silence, maintenance,
    inhibition); ``flaps`` maps a fingerprint to the recent times it changed state.
    ``routes`` remembers the group keys and inhibit targets of every alert seen. Stages
    add to these with ``dataclasses.replace``.
    """

    now: datetime
    positions: Mapping[str, str]
    groups: Mapping[str, RoutedGroups]
    rules: Rules
    tuning: Tuning
    mutes_in_force: tuple[MuteInForce, ...]
    firing: FiringIndex
    working: WorkingSet
    routes: RouteCache
    mutes: Mapping[str, str] = field(default_factory=dict)
    flaps: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict)

    def at(
        self, positions: Mapping[str, str], groups: Mapping[str, RoutedGroups]
    ) -> CorrelationContext:
        """The context for alerts at ``positions`` with ``groups``, nothing decided yet."""
        # A direct call: dataclasses.replace costs several times more, once per round.
        return CorrelationContext(
            self.now,
            positions,
            groups,
            self.rules,
            self.tuning,
            self.mutes_in_force,
            self.firing,
            self.working,
            self.routes,
        )
