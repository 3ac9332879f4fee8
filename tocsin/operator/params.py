"""Query parameters of the operator API, parsed strictly: each bad one is named in a 400.

Python's ``int()`` accepts what no HTTP client means as a number: other scripts' digits
(U+0665, Arabic-Indic five), underscores (``1_0``), signs and surrounding spaces. A
parameter here is a run of ASCII digits, nothing else, as Go's ``strconv.Atoi`` without
a sign.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from multidict import MultiMapping

from core.errors import FieldProblem
from core.store import ListPosition
from core.timestamps import from_micros, micros, parse_rfc3339
from tocsin.operator.cursors import decode_cursor, encode_cursor

# More digits than any limit could need; a longer run is refused before int() reads it.
_MAX_DIGITS = 9


def ascii_int(text: str) -> int | None:
    """Returns the number ``text`` spells in ASCII digits only, or None if it is not one."""
    if not 0 < len(text) <= _MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def int_param(
    params: Mapping[str, str],
    name: str,
    default: int,
    lowest: int,
    highest: int,
    problems: list[FieldProblem],
) -> int:
    """Returns parameter ``name`` as a whole number in ``[lowest, highest]``, else ``default``.

    A value given but not such a number adds a problem naming ``name`` and returns the
    default, so that every bad parameter of a request is reported at once.
    """
    raw = params.get(name)
    if raw is None:
        return default
    value = ascii_int(raw)
    if value is None or not lowest <= value <= highest:
        problems.append(
            FieldProblem(name, f"must be a whole number from {lowest} to {highest}, in digits 0-9")
        )
        return default
    return value


def time_param(
    params: Mapping[str, str], name: str, problems: list[FieldProblem]
) -> datetime | None:
    """Returns parameter ``name`` as an RFC 3339 instant, None when absent or invalid."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        problems.append(FieldProblem(name, f"invalid RFC 3339 timestamp: {exc}"))
        return None


def text_param(
    params: Mapping[str, str], name: str, longest: int, problems: list[FieldProblem]
) -> str | None:
    """Returns parameter ``name`` if given, non-empty and at most ``longest`` characters."""
    raw = params.get(name)
    if raw is None:
        return None
    if not 0 < len(raw) <= longest:
        problems.append(FieldProblem(name, f"must be 1 to {longest} characters"))
        return None
    return raw


def unknown_params(
    params: Mapping[str, str], known: Collection[str], problems: list[FieldProblem]
) -> None:
    """Adds a problem for each parameter not in ``known``, and each given twice."""
    for name in sorted(set(params) - set(known)):
        problems.append(FieldProblem(name, f"unknown parameter; use {', '.join(known)}"))
    for name in sorted(set(params) & set(known)):
        if isinstance(params, MultiMapping) and len(params.getall(name)) > 1:
            problems.append(FieldProblem(name, "given more than once"))


# The most characters of an incident id in a cursor: ids are far shorter.
_CURSOR_ID_CHARS = 200


def encode_position(position: ListPosition, scope: str) -> str:
    """Returns the cursor of a list position in the list ``scope`` names (its filters),
    for a ``next`` link's ``cursor`` (``tocsin.operator.cursors``)."""
    return encode_cursor([micros(position.opened_at), position.incident_id], scope)


def cursor_param(
    params: Mapping[str, str], scope: str, problems: list[FieldProblem]
) -> ListPosition | None:
    """Returns the list position parameter ``cursor`` holds: one a ``next`` link of the
    list ``scope`` names gave (:func:`encode_position`); any other adds a problem."""
    raw = params.get("cursor")
    if raw is None:
        return None
    try:
        decoded = decode_cursor(raw, scope)
        if not isinstance(decoded, list) or len(decoded) != 2:
            raise ValueError(decoded)
        instant, incident_id = decoded
        if type(instant) is not int or not isinstance(incident_id, str):
            raise ValueError(decoded)
        if not 0 < len(incident_id) <= _CURSOR_ID_CHARS:
            raise ValueError(decoded)
        return ListPosition(from_micros(instant), incident_id)
    except (ValueError, TypeError, OverflowError):
        problems.append(FieldProblem("cursor", "not a cursor of this list; use a next link"))
        return None
