"""The SQLite store takes the file's writer lock around each write, as other processes do."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.model import Alert, AlertStatus
from core.store.sqlite import SQLiteStore
from core.store.writer_lock import WriterLock

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def an_alert() -> Alert:
    return Alert(
        source="test",
        fingerprint="0123456789abcdef",
        labels={"alertname": "DiskFull"},
        annotations={},
        status=AlertStatus.FIRING,
        starts_at=NOW,
        ends_at=None,
        generator_url="",
        received_at=NOW,
    )


async def test_a_write_waits_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    database = tmp_path / "tocsin.db"
    store = SQLiteStore(database)
    await store.open()
    # Another process's writer, as far as the lock can tell: its own open file.
    other = WriterLock(database)
    other.open()
    try:
        with other:
            appending = asyncio.create_task(store.append([an_alert()]))
            done, _ = await asyncio.wait({appending}, timeout=0.3)
            assert not done, "the store wrote while another writer held the lock"
        await asyncio.wait_for(appending, timeout=10)
        assert len(await store.read(None, 10)) == 1
    finally:
        other.close()
        await store.close()


async def test_the_lock_file_lies_beside_the_database_for_its_owner_only(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    await store.close()
    mode = stat.S_IMODE((tmp_path / "tocsin.db-writer").stat().st_mode)
    assert mode == 0o600


def test_entering_an_unopened_lock_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not open"), WriterLock(tmp_path / "x.db"):
        pass
