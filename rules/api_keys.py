"""API keys for the operator API, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass

from core.roles import Role
from rules.credentials import Secret

__all__ = ["ApiKey", "Role"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One operator credential: a name for the audit trail, a role, the secret key."""

    name: str
    role: Role
    key: Secret
