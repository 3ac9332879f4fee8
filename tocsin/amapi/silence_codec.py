"""Silences in Alertmanager's API v2 shapes, and Alertmanager's rule for updating one.

A v2 ``postableSilence`` is read into the operator API's silence body and checked by
the same code (``tocsin.operator.silence_input``), so both APIs take the same silences
with the same limits; the fields at fault are named as v2 names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from core.errors import FieldProblem, InvalidFields
from core.silence import LabelMatcher, Silence, SilenceState
from rules.matchers import Matcher
from rules.muting import Silence as RulesSilence
from tocsin.operator.rules_silences import rules_silence_id
from tocsin.operator.silence_input import silence_from

_V1_NAMES = {"starts_at": "startsAt", "ends_at": "endsAt", "created_by": "createdBy"}
_STATE_ORDER = {SilenceState.ACTIVE: 1, SilenceState.PENDING: 2, SilenceState.EXPIRED: 3}
# (is it a regex, is it equality) -> the operator, as Alertmanager's matcher types.
_OPERATORS = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}


def gettable(silence: Silence, now: datetime) -> dict[str, Any]:
    """An operator's silence as ``gettableSilence`` (times as datetimes, for orjson).

    ``updatedAt`` is when it was created: Tocsin keeps no other time of change.
    """
    return {
        "id": silence.id,
        "status": {"state": silence.state(now).value},
        "updatedAt": silence.created_at,
        "matchers": [_matcher(m.name, m.op, m.value) for m in silence.matchers],
        "startsAt": silence.starts_at,
        "endsAt": silence.ends_at,
        "createdBy": silence.created_by,
        "comment": silence.comment,
    }


def gettable_rules(silences: Sequence[RulesSilence], now: datetime) -> list[dict[str, Any]]:
    """The rules files' silences as ``gettableSilence``, with their ``rules:`` ids."""
    return [
        {
            "id": rules_silence_id(silence, position),
            "status": {"state": _rules_state(silence, now).value},
            "updatedAt": silence.starts_at,
            "matchers": [_matcher(m.name, m.type.value, m.value) for m in silence.matchers],
            "startsAt": silence.starts_at,
            "endsAt": silence.ends_at,
            "createdBy": silence.created_by,
            "comment": silence.comment,
        }
        for position, silence in enumerate(silences, start=1)
    ]


def sort_silences(views: list[dict[str, Any]]) -> None:
    """Alertmanager's order: active ending soonest, pending starting soonest, expired latest."""

    def key(view: dict[str, Any]) -> tuple[int, float]:
        state = SilenceState(view["status"]["state"])
        if state is SilenceState.ACTIVE:
            return 1, view["endsAt"].timestamp()
        if state is SilenceState.PENDING:
            return 2, view["startsAt"].timestamp()
        return 3, -view["endsAt"].timestamp()

    views.sort(key=key)


def matches_filter(view: Mapping[str, Any], filters: Sequence[Matcher]) -> bool:
    """Alertmanager's silence filter: each filter matcher is one of the silence's, exactly."""
    own = {
        (m["name"], _OPERATORS[(m["isRegex"], m["isEqual"])], m["value"]) for m in view["matchers"]
    }
    return all((f.name, f.type.value, f.value) in own for f in filters)


def postable(body: Mapping[str, Any], now: datetime, default_creator: str) -> Silence:
    """Reads a ``postableSilence`` as a new silence (a new id); a 400 names each bad field.

    Fields of neither schema are ignored, as Alertmanager ignores them; ``id`` is the
    caller's to handle (an update, see :func:`can_update`).
    """
    problems: list[FieldProblem] = []
    matchers = _matcher_texts(body.get("matchers"), problems)
    v1 = {
        "matchers": matchers,
        "starts_at": body.get("startsAt"),
        "ends_at": body.get("endsAt"),
        "comment": body.get("comment"),
        "created_by": body.get("createdBy") or default_creator,
    }
    try:
        silence = silence_from(v1, now, default_creator)
    except InvalidFields as exc:
        problems.extend(
            FieldProblem(_v2_name(p.field), p.reason)
            for p in exc.problems
            if not (p.field == "matchers" and problems)
        )
        raise InvalidFields(problems) from exc
    if problems:
        raise InvalidFields(problems)
    return silence


def can_update(old: Silence, new: Silence, now: datetime) -> bool:
    """Alertmanager's ``canUpdate``: may ``old`` take ``new``'s fields under its own id?

    Only if the matchers are the same, and: an active silence keeps its start (to the
    second) and does not end in the past; a pending one does not start in the past. An
    expired one never changes. Otherwise the old one expires and ``new`` gets a new id,
    so that what a silence muted, and when, stays true in its history.
    """
    if old.matchers != new.matchers:
        return False
    state = old.state(now)
    if state is SilenceState.ACTIVE:
        same_start = int(old.starts_at.timestamp()) == int(new.starts_at.timestamp())
        return same_start and new.ends_at >= now
    if state is SilenceState.PENDING:
        return new.starts_at >= now
    return False


def _matcher(name: str, op: str, value: str) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "isRegex": op in ("=~", "!~"),
        "isEqual": op in ("=", "=~"),
    }


def _rules_state(silence: RulesSilence, now: datetime) -> SilenceState:
    if now >= silence.ends_at:
        return SilenceState.EXPIRED
    if now < silence.starts_at:
        return SilenceState.PENDING
    return SilenceState.ACTIVE


def _matcher_texts(raw: object, problems: list[FieldProblem]) -> list[str]:
    """The v2 matcher objects as matcher texts, which the v1 reader checks."""
    if not isinstance(raw, list) or not raw:
        problems.append(FieldProblem("matchers", "a non-empty list of {name, value, isRegex}"))
        return []
    texts: list[str] = []
    for index, item in enumerate(raw):
        where = f"matchers[{index}]"
        if not isinstance(item, dict):
            problems.append(FieldProblem(where, "must be an object {name, value, isRegex}"))
            continue
        name, value = item.get("name"), item.get("value")
        is_regex, is_equal = item.get("isRegex"), item.get("isEqual", True)
        if not isinstance(name, str) or not isinstance(value, str):
            problems.append(FieldProblem(where, "name and value must be strings"))
        elif not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
            problems.append(FieldProblem(where, "isRegex (required) and isEqual are booleans"))
        else:
            texts.append(str(LabelMatcher(name, _OPERATORS[(is_regex, is_equal)], value)))
    return texts


def _v2_name(field: str) -> str:
    return _V1_NAMES.get(field, field)
