"""A recorded mute reason read back as Alertmanager's silencedBy and inhibitedBy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.silence import LabelMatcher, Silence
from correlate.mutes import mutes_in_force
from rules.matchers import parse_matcher
from rules.model import Rules
from rules.muting import Silence as RulesSilence
from tocsin.amapi.mutes import MuteStatus, mute_status

NOW = datetime(2026, 11, 27, tzinfo=UTC)
LATER = datetime(2027, 1, 1, tzinfo=UTC)
RULES_SILENCES = (
    RulesSilence((parse_matcher('a="1"'),), NOW, LATER, "first", "dev", name="maint"),
    RulesSilence((parse_matcher('a="2"'),), NOW, LATER, "second: unnamed", "dev"),
)
API_ID = "0123456789abcdef0123456789abcdef"


def _reasons() -> list[str]:
    """The reasons the correlator's own code writes for an operator's and the rules' silences."""
    operator = Silence(API_ID, (LabelMatcher("a", "=", "0"),), NOW, LATER, "ana", "why: so", NOW)
    rules = Rules(sources=(), silences=RULES_SILENCES)
    return [m.reason for m in mutes_in_force([operator], rules, NOW)]


def test_the_correlators_silence_reasons_read_back_as_ids() -> None:
    assert [mute_status(r, RULES_SILENCES).silenced_by for r in _reasons()] == [
        (API_ID,),
        ("rules:maint",),
        ("rules:2",),
    ]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        # Not muted.
        (None, MuteStatus()),
        # Inhibited: the source's fingerprint; a rule name with parentheses is fine.
        (
            "inhibited by node-down (firing alert 5c502cfd283f2d15)",
            MuteStatus(inhibited_by=("5c502cfd283f2d15",)),
        ),
        (
            "inhibited by inhibit rule (firing alert abc)",
            MuteStatus(inhibited_by=("abc",)),
        ),
        # A maintenance window: Alertmanager has none, so a name of Tocsin's own.
        (
            "maintenance window sunday (Sun 02:00-04:00 Europe/Berlin)",
            MuteStatus(silenced_by=("maintenance:sunday",)),
        ),
        # A shape this code does not know still suppresses, with the whole reason.
        ("muted by something new", MuteStatus(silenced_by=("muted by something new",))),
    ],
)
def test_reasons(reason: str | None, expected: MuteStatus) -> None:
    assert mute_status(reason, RULES_SILENCES) == expected
    assert expected.state == ("active" if reason is None else "suppressed")
