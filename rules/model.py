"""The rules as frozen dataclasses: what the loader produces and the rest of Tocsin trusts."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import SourceKind


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
    """The source sends ``Authorization: Bearer <token>``."""

    token: Secret


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """The source sends HTTP basic auth (Alertmanager's and Prometheus' ``basic_auth``)."""

    username: str
    password: Secret


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket per source: ``alerts_per_second`` sustained, ``burst`` at once."""

    alerts_per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One monitoring system allowed to send alerts, and how it proves who it is.

    PagerDuty-format sources carry their credential in the body (``routing_key``);
    all others use ``auth``.
    """

    name: str
    kind: SourceKind
    auth: BearerAuth | BasicAuth | None
    routing_key: Secret | None
    rate_limit: RateLimit | None


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the rules files define."""

    sources: tuple[SourceConfig, ...]

    def sources_of_kind(self, kind: SourceKind) -> tuple[SourceConfig, ...]:
        """Returns the sources that send in the wire format ``kind``."""
        return tuple(s for s in self.sources if s.kind is kind)
