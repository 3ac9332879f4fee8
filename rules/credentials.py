"""Credentials that rules reference: secrets and the HTTP auth schemes built from them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential read from an environment variable or a file; never printed."""

    value: str
    origin: str  # "env:NAME" or "file:PATH", safe to show

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
