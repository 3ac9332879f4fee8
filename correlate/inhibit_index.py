"""The firing alerts each inhibit rule may use, indexed by the values of its ``equal`` labels.

Alertmanager (0.27 and later) keeps, per rule, its firing source alerts by the values of
the rule's ``equal`` labels; asking whether an alert is inhibited is then one lookup per
rule whose target matchers it matches, however many alerts the rule's matchers cover.
The same here: a rule "a critical alert mutes the warning of the same alertname" over
5,000 warnings in 100 groups costs one dict lookup per warning, not a scan of the
firing alerts.

Keys are the tuples of the ``equal`` labels' values, an absent label counting as the
empty string (as in Alertmanager, where an absent label's value is ``""``). The index
also keeps each rule's firing *targets* by key, so that when a key's sources change
(a source fires or resolves) the alerts whose mute may change are found at once.

Sources are kept in the order they started firing: the oldest firing source is the one
a mute names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from rules.muting import InhibitRule

# Values of the equal labels of one rule.
Key = tuple[str, ...]

# How many label-value combinations the role memo keeps before it starts over.
_ROLE_MEMO_CAPACITY = 100_000


@dataclass(slots=True)
class _RuleIndex:
    """One rule's firing sources and targets by key.

    ``one_sided`` holds sources that do not also match the targets; ``two_sided`` those
    that do, which never mute an alert matching both sides either (Alertmanager's rule).
    Dicts with None values: ordered sets.
    """

    rule: InhibitRule
    position: int
    one_sided: dict[Key, dict[str, None]] = field(default_factory=dict)
    two_sided: dict[Key, dict[str, None]] = field(default_factory=dict)
    targets: dict[Key, dict[str, None]] = field(default_factory=dict)

    def key(self, labels: Mapping[str, str]) -> Key:
        return tuple([labels.get(name, "") for name in self.rule.equal])


# Per rule, in rule order: (is a source, is a target).
_Roles = tuple[tuple[bool, bool], ...]


class InhibitIndex:
    """Per inhibit rule, the firing sources and targets by the values of the equal labels."""

    def __init__(self, rules: tuple[InhibitRule, ...]) -> None:
        self.rules = rules
        self._indexes = [_RuleIndex(rule, position) for position, rule in enumerate(rules)]
        self._by_rule = {id(index.rule): index for index in self._indexes}
        # The labels the rules' matchers read: roles are remembered by their values.
        self._reads = tuple(
            sorted({m.name for r in rules for m in (*r.source_matchers, *r.target_matchers)})
        )
        self._roles: dict[tuple[str, ...], _Roles] = {}
        # How many times a source was added or removed: mutes may then have changed.
        self.changes = 0

    def roles(self, labels: Mapping[str, str]) -> _Roles:
        """Per rule, whether an alert with these labels is a source and a target of it."""
        values = tuple([labels.get(name, "") for name in self._reads])
        found = self._roles.get(values)
        if found is None:
            found = tuple((r.is_source(labels), r.is_target(labels)) for r in self.rules)
            if len(self._roles) >= _ROLE_MEMO_CAPACITY:
                self._roles.clear()
            self._roles[values] = found
        return found

    def add(self, fingerprint: str, labels: Mapping[str, str]) -> None:
        """Takes in a firing alert (again: adding twice changes nothing)."""
        for index, (source, target) in zip(self._indexes, self.roles(labels), strict=True):
            if not (source or target):
                continue
            key = index.key(labels)
            if source:
                sides = index.two_sided if target else index.one_sided
                found = sides.setdefault(key, {})
                if fingerprint not in found:
                    found[fingerprint] = None
                    self.changes += 1
            if target:
                index.targets.setdefault(key, {})[fingerprint] = None

    def remove(self, fingerprint: str, labels: Mapping[str, str]) -> None:
        """Forgets an alert that stopped firing (or was never taken in)."""
        for index, (source, target) in zip(self._indexes, self.roles(labels), strict=True):
            if not (source or target):
                continue
            key = index.key(labels)
            if source and _discard(
                index.two_sided if target else index.one_sided, key, fingerprint
            ):
                self.changes += 1
            if target:
                _discard(index.targets, key, fingerprint)

    def source_for(
        self,
        rule: InhibitRule,
        fingerprint: str,
        labels: Mapping[str, str],
        prefer: str | None = None,
    ) -> str | None:
        """The firing alert that mutes this target under ``rule``, or None.

        ``prefer`` is kept if it still mutes the target (a mute keeps naming the source
        it named while that one fires); otherwise the oldest firing source is named.
        One lookup per side, whatever the number of alerts the rule covers.
        """
        index = self._by_rule[id(rule)]
        key = index.key(labels)
        sides = [index.one_sided.get(key)]
        if not self.roles(labels)[index.position][0]:
            sides.append(index.two_sided.get(key))
        if prefer is not None:
            for side in sides:
                if side and prefer in side and prefer != fingerprint:
                    return prefer
        for side in sides:
            for source in side or ():
                if source != fingerprint:
                    return source
        return None

    def sources(self) -> dict[tuple[int, Key], frozenset[str]]:
        """Every rule's sources by (rule position, key): what the mutes depend on."""
        found: dict[tuple[int, Key], frozenset[str]] = {}
        for position, index in enumerate(self._indexes):
            for side in (index.one_sided, index.two_sided):
                for key, sources in side.items():
                    was = found.get((position, key), frozenset())
                    found[(position, key)] = was | sources.keys()
        return found

    def targets(self, position: int, key: Key) -> Iterator[str]:
        """The firing targets of the rule at ``position`` with these equal-label values."""
        yield from self._indexes[position].targets.get(key, ())


def _discard(sets: dict[Key, dict[str, None]], key: Key, fingerprint: str) -> bool:
    """Removes the fingerprint from the key's set; tells whether it was there."""
    found = sets.get(key)
    if found is None or fingerprint not in found:
        return False
    del found[fingerprint]
    if not found:
        del sets[key]
    return True
