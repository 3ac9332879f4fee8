"""Why an alert is muted, as Alertmanager's ``status``: the silences and inhibitors by id.

The correlator records on each incident alert why it is muted (``muted_by``), in the
words of ``correlate.mutes`` and ``correlate.stages.inhibit``:

- ``silence <id> by <creator>: <comment>``, an operator's silence;
- ``silence <name>: <comment>`` or ``silence from rules: <comment>``, a rules silence;
- ``maintenance window <name> (<when>)``;
- ``inhibited by <rule> (firing alert <fingerprint>)``.

This reads them back into ``silencedBy`` (silence ids as both APIs give them, ``rules:``
ids for rules silences, ``maintenance:<name>`` for windows, which Alertmanager lacks)
and ``inhibitedBy`` (the fingerprint of the inhibiting alert). A reason in none of these
shapes still suppresses the alert: it is listed whole in ``silencedBy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.muting import Silence as RulesSilence
from tocsin.operator.rules_silences import rules_silence_id

_API_SILENCE = re.compile(r"silence ([0-9a-f]{32}) by ")
_RULES_UNNAMED = "silence from rules: "
_RULES_NAMED = re.compile(r"silence (\S+): ", re.S)
_WINDOW = re.compile(r"maintenance window (\S+) \(")
_INHIBITED = "inhibited by "
_SOURCE = " (firing alert "
WINDOW_PREFIX = "maintenance:"


@dataclass(frozen=True, slots=True)
class MuteStatus:
    """An alert's ``status`` members: what silences it and what inhibits it."""

    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """Alertmanager's state: ``suppressed`` when anything mutes the alert."""
        return "suppressed" if self.silenced_by or self.inhibited_by else "active"


NOT_MUTED = MuteStatus()


def mute_status(reason: str | None, rules_silences: tuple[RulesSilence, ...]) -> MuteStatus:
    """Reads a recorded mute reason back as the ids Alertmanager's API shows."""
    if not reason:
        return NOT_MUTED
    found = _API_SILENCE.match(reason)
    if found:
        return MuteStatus(silenced_by=(found.group(1),))
    if reason.startswith(_INHIBITED) and reason.endswith(")") and _SOURCE in reason:
        return MuteStatus(inhibited_by=(reason[:-1].rpartition(_SOURCE)[2],))
    window = _WINDOW.match(reason)
    if window:
        return MuteStatus(silenced_by=(WINDOW_PREFIX + window.group(1),))
    if reason.startswith(_RULES_UNNAMED):
        comment = reason[len(_RULES_UNNAMED) :]
        return MuteStatus(silenced_by=(_unnamed_rules_id(rules_silences, comment, reason),))
    named = _RULES_NAMED.match(reason)
    if named and any(s.name == named.group(1) for s in rules_silences):
        return MuteStatus(silenced_by=(f"rules:{named.group(1)}",))
    return MuteStatus(silenced_by=(reason,))


def _unnamed_rules_id(silences: tuple[RulesSilence, ...], comment: str, reason: str) -> str:
    """The id of the unnamed rules silence with this comment (the reason names no more)."""
    for position, silence in enumerate(silences, start=1):
        if silence.name is None and silence.comment == comment:
            return rules_silence_id(silence, position)
    return reason
