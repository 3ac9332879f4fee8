"""``tocsin report --output`` that cannot be written: one line and exit 2, no traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.store.sqlite import SQLiteStore
from tocsin.cli import main

RULES = Path(__file__).resolve().parents[3] / "rules" / "examples"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """An empty store made as a server makes it."""

    async def make() -> None:
        created = SQLiteStore(tmp_path / "tocsin.db")
        await created.open()
        await created.close()

    asyncio.run(make())
    return f"sqlite://{tmp_path / 'tocsin.db'}"


def report(store_url: str, output: Path) -> int:
    return main(
        ["report", "--store", store_url, "--rules", str(RULES), "--format", "json",
         "--output", str(output)]
    )  # fmt: skip


def test_an_output_in_no_directory_is_one_line_and_exit_2(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    assert report(store_url, missing / "x.json") == 2
    captured = capsys.readouterr()
    assert captured.err == f"tocsin: --output: no directory {missing}\n"
    assert captured.out == ""


def test_an_output_that_is_a_directory_is_one_line_and_exit_2(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(store_url, tmp_path) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"tocsin: --output: cannot write {tmp_path}: ")
