"""Five-field cron expressions (``minute hour day-of-month month day-of-week``).

Only the definition and the question "does this minute match" live here; maintenance
windows use it to decide when a window starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# (name, lowest, highest, names for values starting at lowest)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


@dataclass(frozen=True, slots=True)
class CronSpec:
    """The minutes a cron expression selects; read in the owner's time zone."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday, as in cron
    any_day_of_month: bool
    any_day_of_week: bool

    def matches(self, local: datetime) -> bool:
        """Tells whether the wall-clock minute ``local`` is one the expression selects."""
        if local.minute not in self.minutes or local.hour not in self.hours:
            return False
        if local.month not in self.months:
            return False
        dom = local.day in self.days_of_month
        dow = (local.isoweekday() % 7) in self.days_of_week
        # Classic cron: when both day fields are restricted, either one may match.
        if self.any_day_of_month:
            return dow
        if self.any_day_of_week:
            return dom
        return dom or dow


def parse_cron(text: str) -> CronSpec:
    """Parses ``"0 2 * * sun"`` or a macro such as ``@daily``; raises ValueError."""
    expression = _MACROS.get(text.strip().lower(), text)
    fields = expression.split()
    if len(fields) != len(_FIELDS):
        raise ValueError(f"{text!r} needs 5 fields: minute hour day-of-month month day-of-week")
    sets = [_parse_field(f, *spec) for f, spec in zip(fields, _FIELDS, strict=True)]
    days_of_week = frozenset(d % 7 for d in sets[4])  # 7 is Sunday too
    return CronSpec(
        text=text,
        minutes=sets[0],
        hours=sets[1],
        days_of_month=sets[2],
        months=sets[3],
        days_of_week=days_of_week,
        any_day_of_month=fields[2] == "*",
        any_day_of_week=fields[4] == "*",
    )


def _parse_field(
    text: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        base, slash, step_text = part.partition("/")
        step = _number(step_text, name, 1, high) if slash else 1
        if base == "*":
            start, end = low, high
        else:
            first, dash, last = base.partition("-")
            start = _value(first, name, low, high, names)
            end = _value(last, name, low, high, names) if dash else (high if slash else start)
            if end < start:
                raise ValueError(f"{name}: range {base!r} runs backwards")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text in names:
        return low + names.index(text)
    return _number(text, name, low, high)


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise ValueError(f"{name}: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is outside {low}-{high}")
    return value
