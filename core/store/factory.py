"""Chooses the store backend that a store URL names."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore


def store_from_url(url: str, *, sqlite_synchronous: str = "FULL") -> Store:
    """Returns an unopened store for ``sqlite://PATH``, a plain file path, or ``redis://host:port/db``.

    Everything after ``sqlite://`` is the path: ``sqlite:///var/lib/tocsin.db`` is absolute,
    ``sqlite://tocsin.db`` relative to the working directory.
    """
    scheme = urlsplit(url).scheme
    if scheme in {"redis", "rediss", "unix"}:
        return RedisStore(url)
    if scheme == "sqlite":
        return SQLiteStore(Path(url.removeprefix("sqlite://")), synchronous=sqlite_synchronous)
    if scheme == "":
        return SQLiteStore(Path(url), synchronous=sqlite_synchronous)
    raise ValueError(
        f"unknown store URL scheme {scheme!r}: use sqlite://PATH or redis://HOST:PORT/DB"
    )
