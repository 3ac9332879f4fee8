"""RFC 3339 timestamps as monitoring systems send them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

# Go's zero time.Time: Alertmanager sends it as endsAt of every firing alert.
_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


# The fraction of a second, whose digits past the sixth (nanoseconds) datetime cannot hold.
_FRACTION = re.compile(r"[.,](\d+)")


def parse_rfc3339(text: str) -> datetime | None:
    """Parses an RFC 3339 timestamp into an aware UTC datetime; Go's zero time gives None.

    Nanosecond fractions (Alertmanager) are cut to microseconds, millisecond ones
    (Prometheus) kept; :func:`parse_rfc3339_ns` also returns the nanoseconds cut, for
    comparisons. Raises ValueError for anything that is not RFC 3339 with an offset, or
    that lies outside the years 1 to 9999 once in UTC.
    """
    return parse_rfc3339_ns(text)[0]


def parse_rfc3339_ns(text: str) -> tuple[datetime | None, int]:
    """Returns :func:`parse_rfc3339`'s instant and the nanoseconds (0-999) it cut off.

    Only Go's zero instant itself, to the nanosecond, means "absent", as ``time.IsZero``
    says: ``0001-01-01T00:00:00.000000001Z`` is a time.
    """
    if "T" not in text and "t" not in text:
        raise ValueError("not an RFC 3339 timestamp (no 'T' between date and time)")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone offset")
    nanos = _cut_nanoseconds(text)
    if parsed.year == 1 and parsed == _GO_ZERO_TIME and nanos == 0:
        return None, 0
    return _in_utc(parsed), nanos


def _cut_nanoseconds(text: str) -> int:
    fraction = _FRACTION.search(text, text.find(":"))
    if fraction is None:
        return 0
    return int(fraction.group(1)[6:9].ljust(3, "0"))


def _in_utc(parsed: datetime) -> datetime:
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        # e.g. 9999-12-31T23:59:59-01:00, which is in the year 10000 in UTC.
        raise ValueError("timestamp is out of range in UTC") from exc


@lru_cache(maxsize=8_192)
def parse_rfc3339_cached(text: str) -> datetime | None:
    """Returns :func:`parse_rfc3339`, memoised: a batch of alerts mostly shares its timestamps."""
    return parse_rfc3339(text)


@lru_cache(maxsize=8_192)
def parse_rfc3339_ns_cached(text: str) -> tuple[datetime | None, int]:
    """Returns :func:`parse_rfc3339_ns`, memoised."""
    return parse_rfc3339_ns(text)


def format_rfc3339(instant: datetime) -> str:
    """Formats an instant as RFC 3339 in UTC with a ``Z`` suffix."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(instant: datetime) -> int:
    """Returns an instant as whole microseconds since the Unix epoch (exact, unlike floats)."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Returns the UTC instant ``value`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=value)


_K = TypeVar("_K")
_V = TypeVar("_V")


class Memo(dict[_K, _V]):
    """A bounded memo of a conversion: ``memo[key]`` converts each key once, then recalls it.

    For instants converted per alert (the log's integers to datetimes, documents' datetimes
    to integers), which repeat across a step's alerts: a known key is one subscript in C,
    where ``functools.lru_cache`` builds and compares a key tuple per call, about twice the
    instructions. Full at ``size`` keys, it forgets them all at once (an instant's users
    come together in time).
    """

    __slots__ = ("_convert", "_size")

    def __init__(self, convert: Callable[[_K], _V], size: int = 4_096) -> None:
        super().__init__()
        self._convert = convert
        self._size = size

    def __missing__(self, key: _K) -> _V:
        if len(self) >= self._size:
            self.clear()
        value = self[key] = self._convert(key)
        return value
