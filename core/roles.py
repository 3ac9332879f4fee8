"""The roles of operator API keys: who may read, who may work incidents, who may do all.

They live in core because the incident lifecycle (``core.lifecycle``) says which role
each transition needs; the rules' ``api_keys`` section gives each key one of them.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a key may do: read; also silence and work incidents; everything."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        """Tells whether this role includes ``needed``."""
        order = [Role.VIEWER, Role.RESPONDER, Role.ADMIN]
        return order.index(self) >= order.index(needed)
