"""Credentials that rules reference: secrets and the HTTP auth schemes built from them."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential read from an environment variable or a file; never printed.

    ``tocsin check`` checks the rules without reading secrets (as ``amtool
    check-config`` does in CI, where they are absent): such a secret is not
    ``resolved``, holds its origin as its value, and matches nothing.
    """

    value: str
    origin: str  # "env:NAME" or "file:PATH", safe to show
    resolved: bool = True

    def matches(self, given: str) -> bool:
        """Tells whether ``given`` is this secret, comparing in constant time."""
        return equal_in_constant_time(self.value, given) and self.resolved

    def __repr__(self) -> str:
        return f"Secret(<hidden>, from {self.origin})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class BearerAuth:
    """The peer sends or expects ``Authorization: Bearer <token>``."""

    token: Secret


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """HTTP basic auth (Alertmanager's and Prometheus' ``basic_auth``)."""

    username: str
    password: Secret


def equal_in_constant_time(expected: str, given: str) -> bool:
    """Compares two credentials without leaking through timing where they differ.

    A header's undecodable bytes (and a JSON string's lone escapes) reach us as lone
    surrogates; they are encoded as they are, so they simply do not match, instead of
    failing the request.
    """
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def first_accepted(candidates: Iterable[T], accepts: Callable[[T], bool]) -> T | None:
    """Returns the first candidate that ``accepts`` the credentials, or None.

    Every candidate is tested even after a match, so the time taken does not tell which
    one matched, or how many there are before it.
    """
    found: T | None = None
    for candidate in candidates:
        if accepts(candidate) and found is None:
            found = candidate
    return found
