"""Silences written in the rules files, as the operator API shows them: read-only.

They live in the rules, so the API lists them beside operators' silences (marked
``"source": "rules"``) but never changes them: a reload of edited rules does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.silence import SilenceState
from core.timestamps import format_rfc3339
from rules.muting import Silence as RulesSilence

# Operators' silences have hex ids; this prefix keeps the two apart.
RULES_ID_PREFIX = "rules:"


def rules_silence_id(silence: RulesSilence, position: int) -> str:
    """The API id of a rules silence: its name, else its 1-based position in the rules."""
    return f"{RULES_ID_PREFIX}{silence.name or position}"


def rules_silence_views(silences: tuple[RulesSilence, ...], now: datetime) -> list[dict[str, Any]]:
    """Every rules silence as the API shows it, in the rules' order."""
    return [
        rules_silence_view(silence, rules_silence_id(silence, position), now)
        for position, silence in enumerate(silences, start=1)
    ]


def find_rules_silence(
    silences: tuple[RulesSilence, ...], silence_id: str, now: datetime
) -> dict[str, Any] | None:
    """The view of the rules silence with this API id, or None."""
    return next((v for v in rules_silence_views(silences, now) if v["id"] == silence_id), None)


def rules_silence_view(silence: RulesSilence, silence_id: str, now: datetime) -> dict[str, Any]:
    """A rules silence in the shape of an operator's, marked as from the rules."""
    if now >= silence.ends_at:
        state = SilenceState.EXPIRED
    elif now < silence.starts_at:
        state = SilenceState.PENDING
    else:
        state = SilenceState.ACTIVE
    return {
        "id": silence_id,
        "matchers": [str(m) for m in silence.matchers],
        "starts_at": format_rfc3339(silence.starts_at),
        "ends_at": format_rfc3339(silence.ends_at),
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": None,
        "state": state.value,
        "source": "rules",
        "read_only": True,
    }
