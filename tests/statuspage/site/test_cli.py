"""``tocsin statuspage build``: the site of a real store (SQLite and Redis), exit codes."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import ManualClock
from core.store.factory import store_from_url
from rules.loader import load_rules
from statuspage.writer import StatusWriter
from tests.statuspage.conftest import RULES
from tests.statuspage.harness import drain, opened
from tests.statuspage.site.sample import NOW
from tocsin.cli_statuspage import run_statuspage


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend, empty."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'tocsin.db'}"
    url: str = request.getfixturevalue("redis_url")
    return url


async def publish_one_incident(url: str) -> None:
    """Writes an internal P1 incident on checkout and lets the status writer publish it."""
    store = store_from_url(url)
    await store.open()
    try:
        rules = load_rules(RULES, {})
        await opened(store, 1, NOW - timedelta(minutes=30))
        await drain(StatusWriter(store, lambda: rules, ManualClock(NOW), "m1"))
    finally:
        await store.close()


def build(out: Path, store: str, rules: Path = RULES) -> int:
    return run_statuspage(
        argparse.Namespace(out=out, rules=rules, store=store), clock=ManualClock(NOW), env={}
    )


def test_build_writes_the_site_of_the_store(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(publish_one_incident(store_url))
    out = tmp_path / "public"
    assert build(out, store_url) == 0
    summary = json.loads((out / "api/v2/summary.json").read_text())
    assert summary["page"]["name"] == "Example Status"
    assert [i["status"] for i in summary["incidents"]] == ["investigating"]
    assert "Example Status" in (out / "index.html").read_text()
    assert "files written" in capsys.readouterr().out
    # A second build of the same data writes nothing.
    assert build(out, store_url) == 0
    assert "0 files written" in capsys.readouterr().out


def test_a_missing_sqlite_store_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build(tmp_path / "out", f"sqlite://{tmp_path / 'nope.db'}") == 1
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_invalid_rules_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "bad.yml"
    rules.write_text("status_page: {name: 3, bogus: true}\n")
    assert build(tmp_path / "out", f"sqlite://{tmp_path / 'x.db'}", rules) == 2
    assert "invalid" in capsys.readouterr().err
