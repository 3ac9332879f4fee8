"""API keys for the operator API, and what each role may do."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rules.credentials import Secret


class Role(enum.StrEnum):
    """What a key may do: read; also silence (and later work incidents); everything."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        """Tells whether this role includes ``needed``."""
        order = [Role.VIEWER, Role.RESPONDER, Role.ADMIN]
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One operator credential: a name for the audit trail, a role, the secret key."""

    name: str
    role: Role
    key: Secret
