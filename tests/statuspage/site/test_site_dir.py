"""The site's directory cannot be taken over by another local user (review of issue 12).

Before: with a Redis store the site went to /tmp/tocsin-status-<pid>, a name anyone could
make first (mode 777, an ``incidents`` link to elsewhere, a manifest of theirs); builds
then wrote and deleted files through the link. Killed builds left staging directories.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from statuspage.site import write_site
from statuspage.site.writer import MANIFEST
from tests.app_harness import ENV, RULES, START
from tocsin.app import create_app
from tocsin.status_site import SITE_BUILDER, site_directory

Client = TestClient  # type: ignore[type-arg]
PAGE_RULES = RULES + (Path(__file__).parents[1] / "rules.yml").read_text()


def test_a_redis_store_gets_a_fresh_private_directory() -> None:
    first = site_directory("redis://127.0.0.1:6379/0", {})
    second = site_directory("redis://127.0.0.1:6379/0", {})
    try:
        assert first != second
        assert first.parent.name.startswith("tocsin-status-")
        assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700
        assert not first.exists()  # the site itself: made by the first build
    finally:
        first.parent.rmdir()
        second.parent.rmdir()


def test_a_linked_directory_is_never_written_through(tmp_path: Path) -> None:
    root, outside = tmp_path / "site", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "index.html").write_bytes(b"old")
    (root / "incidents").symlink_to(outside)
    with pytest.raises(OSError, match="symbolic link"):
        write_site(root, {"index.html": b"new", "incidents/x.html": b"x"})
    assert list(outside.iterdir()) == []


def test_a_linked_directory_is_never_deleted_through(tmp_path: Path) -> None:
    root, outside = tmp_path / "site", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious.html").write_text("keep")
    (root / "incidents").symlink_to(outside)
    (root / MANIFEST).write_text("incidents/precious.html\nindex.html")
    with pytest.raises(OSError, match="symbolic link"):
        write_site(root, {"index.html": b"new"})
    assert (outside / "precious.html").read_text() == "keep"


def test_a_linked_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    root, target = tmp_path / "site", tmp_path / "target.html"
    root.mkdir()
    target.write_text("keep")
    (root / "index.html").symlink_to(target)
    write_site(root, {"index.html": b"new"})
    assert target.read_text() == "keep"
    assert not (root / "index.html").is_symlink()
    assert (root / "index.html").read_bytes() == b"new"


def test_staging_directories_of_killed_builds_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    stale = tmp_path / f".site.{int(dead.stdout)}.staging"
    (stale / "incidents").mkdir(parents=True)
    (stale / "incidents" / "x.html").write_text("x")
    live = tmp_path / f".site.{os.getppid()}.staging"  # a live process's: kept
    live.mkdir()
    write_site(tmp_path / "site", {"index.html": b"a"})
    assert not stale.exists()
    assert live.exists()


@pytest.mark.redis
async def test_the_private_directory_is_removed_when_serve_stops(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    redis_url: str,
) -> None:
    rules = tmp_path / "status.yml"
    rules.write_text(PAGE_RULES)
    settings = make_settings(correlate=False, rules=rules, store=redis_url)
    app = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    client = await aiohttp_client(app)
    out = app[SITE_BUILDER].out
    await app[SITE_BUILDER].build()
    assert (out / "index.html").is_file()
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    response = await client.get("/status/")
    assert response.status == 200
    await client.close()
    assert not out.parent.exists()


def test_incident_pages_are_written_before_the_pages_that_link_to_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, files were written in the site's order: index.html first, linking to an
    # incident page that did not exist yet.
    from statuspage.site import writer

    write_site(tmp_path, {"index.html": b"a", "style.css": b"s"})
    order: list[str] = []
    real = writer._atomic_write

    def record(path: str, data: bytes) -> None:
        order.append(os.path.relpath(path, tmp_path))
        real(path, data)

    monkeypatch.setattr(writer, "_atomic_write", record)
    files = {
        "index.html": b"b",
        "api/v2/summary.json": b"{}",
        "history/2026-12.html": b"h",
        "incidents/new.html": b"n",
    }
    write_site(tmp_path, files)
    assert order[0] == "incidents/new.html"
    assert [p for p in order if p != ".tocsin-site"][-1] == "index.html"
    assert order.index("incidents/new.html") < order.index("api/v2/summary.json")
