"""Query parameters of the operator API, parsed strictly: each bad one is named in a 400.

Python's ``int()`` accepts what no HTTP client means as a number: other scripts' digits
(U+0665, Arabic-Indic five), underscores (``1_0``), signs and surrounding spaces. A
parameter here is a run of ASCII digits, nothing else, as Go's ``strconv.Atoi`` without
a sign.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from core.errors import FieldProblem
from core.timestamps import parse_rfc3339

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
