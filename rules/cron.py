"""Five-field cron expressions (``minute hour day-of-month month day-of-week``), by croniter.

croniter reads the expression as cron does (names such as ``sun`` and ``jan``, ranges,
steps, ``7`` for Sunday, either day field matching when both are restricted, the
``@daily``-style macros) and steps through a time zone's DST changes: a start in a gap
happens when the clocks jump past it, a start in a repeated hour happens in both. Only
the five classic fields are allowed: no seconds or years columns, no hashed ``H``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, CroniterError, croniter

# Each field's name and what it takes, for error messages.
_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_ALLOWED = ("0-59", "0-23", "1-31", "1-12 or jan-dec", "0-7 or sun-sat")
_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_ONE_MINUTE = timedelta(minutes=1)
# An expression that selects no minute in this many years selects none at all
# (``0 0 30 2 *``); croniter gives up searching after as long.
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A valid cron expression; its times are read in the zone its owner gives."""

    text: str

    def matches(self, local: datetime) -> bool:
        """Tells whether the wall-clock minute ``local`` is one the expression selects."""
        return bool(croniter.match(self.text, local.replace(second=0, microsecond=0)))

    def last_start(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """Returns the latest minute at or before ``now`` (aware) that the expression selects.

        One croniter step, whatever the gap since: the expression's fields are searched,
        not the minutes. None if it selected none in croniter's search range.
        """
        # Minutes are counted in UTC and only then read in the zone: adding a minute to a
        # wall-clock time in a repeated hour would jump an hour.
        after = (now.astimezone(UTC).replace(second=0, microsecond=0) + _ONE_MINUTE).astimezone(
            zone
        )
        try:
            found: datetime = croniter(self.text, after).get_prev(datetime)
        except CroniterBadDateError:
            return None
        return found.astimezone(UTC)

    def next_start(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """Returns the first selected minute after ``now`` (aware), or None if there is none."""
        try:
            found: datetime = croniter(self.text, now.astimezone(zone)).get_next(datetime)
        except CroniterBadDateError:
            return None
        return found.astimezone(UTC)


def parse_cron(text: str) -> CronSpec:
    """Checks ``"0 2 * * sun"`` or a macro such as ``@daily``; raises ValueError saying why."""
    expression = text.strip()
    if expression.lower() in _MACROS:
        return CronSpec(expression.lower())
    fields = expression.split()
    if len(fields) != len(_FIELDS):
        raise ValueError(f"{text!r} needs 5 fields: minute hour day-of-month month day-of-week")
    for index, (name, value) in enumerate(zip(_FIELDS, fields, strict=True)):
        allowed = _ALLOWED[index]
        # Each field alone in an otherwise open expression, so the message can name it.
        alone = ["*"] * len(_FIELDS)
        alone[index] = value
        if not _valid(" ".join(alone)) or value.upper().startswith(("H", "R")):
            raise ValueError(
                f"{name}: {value!r} is not a valid cron field (values {allowed}, "
                "with lists, ranges and steps such as 1,15 or 9-17 or */5)"
            )
    normalised = " ".join(fields)
    if not _valid(normalised):
        raise ValueError(f"{text!r} is not a valid cron expression")
    try:
        croniter(normalised, _REFERENCE).get_next(datetime)
    except CroniterBadDateError as exc:
        raise ValueError(f"{text!r} selects no time at all (e.g. 30 February)") from exc
    return CronSpec(normalised)


def _valid(expression: str) -> bool:
    try:
        croniter(expression, _REFERENCE)
    except (CroniterError, ValueError, KeyError, IndexError):
        return False
    return True
