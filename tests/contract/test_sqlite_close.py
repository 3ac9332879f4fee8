"""A write that comes while the SQLite store closes is refused, never left waiting.

The suite hung now and then in a test that closes the store under a running correlator:
its write, queued behind the writer thread's stop, waited for an answer that never came.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.errors import StoreUnavailable
from core.store.sqlite import SQLiteStore


async def test_a_write_queued_while_the_store_closes_is_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    closing = asyncio.create_task(store.close())
    await asyncio.sleep(0)  # close() has asked the writer thread to stop

    with pytest.raises(StoreUnavailable):
        # A deadline, not a timing: before the fix this write waited forever.
        await asyncio.wait_for(store.save_cursor("consumer", "1"), 30)

    await closing
