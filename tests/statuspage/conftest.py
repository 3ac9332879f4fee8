"""Fixtures of the status page's data side: each store test runs on SQLite and on Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.loader import load_rules
from rules.model import Rules

# The store contract's fixtures: open_store (SQLite, and Redis on its own server) and store.
from tests.contract.conftest import open_store, store

__all__ = ["open_store", "store"]

RULES = Path(__file__).with_name("rules.yml")


@pytest.fixture
def rules() -> Rules:
    """The test page: website, search, checkout and card payments (Europe/Berlin)."""
    return load_rules(RULES, {})
