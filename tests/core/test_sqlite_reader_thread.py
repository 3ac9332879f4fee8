"""SQLite reads run on one thread of their own, and the render of the Alertmanager API on
one of its own: spread over the default executor's threads, each large read took its
memory from another malloc arena, and serve's RSS rose with every arena's high-water mark
(a reviewer's churn: 335 -> 764-1,020 MB in a minute; on dedicated threads 273 -> 419-460).
"""

from __future__ import annotations

import threading
from pathlib import Path

from core.store.sqlite import SQLiteStore


async def test_every_read_runs_on_the_readers_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    try:
        names = {
            await store._on_reader(lambda _: threading.current_thread().name) for _ in range(20)
        }
    finally:
        await store.close()

    assert len(names) == 1
    assert names.pop().startswith("tocsin-sqlite-reader")
