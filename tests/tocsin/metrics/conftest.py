"""The store contract's fixtures: each store test here runs on SQLite and on Redis."""

from tests.contract.conftest import open_store, store

__all__ = ["open_store", "store"]
