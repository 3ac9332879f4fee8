"""write_site: only changed files are written, atomically; gone files removed; paths checked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from statuspage.site import write_site


def test_first_write_writes_everything_readable_by_a_web_server(tmp_path: Path) -> None:
    result = write_site(tmp_path, {"index.html": b"a", "api/v2/status.json": b"{}"})
    assert result.written == ("api/v2/status.json", "index.html")
    assert (tmp_path / "api/v2/status.json").read_bytes() == b"{}"
    assert stat.S_IMODE((tmp_path / "index.html").stat().st_mode) == 0o644


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    files = {"index.html": b"a", "badge.svg": b"b"}
    write_site(tmp_path, files)
    before = (tmp_path / "badge.svg").stat().st_ino
    result = write_site(tmp_path, {"index.html": b"new", "badge.svg": b"b"}, files)
    assert result.written == ("index.html",)
    assert (tmp_path / "badge.svg").stat().st_ino == before


def test_without_previous_the_disk_is_compared(tmp_path: Path) -> None:
    write_site(tmp_path, {"index.html": b"a"})
    assert write_site(tmp_path, {"index.html": b"a"}).written == ()


def test_files_of_the_last_write_that_are_gone_are_removed_and_others_kept(
    tmp_path: Path,
) -> None:
    (tmp_path / "robots.txt").write_text("mine")
    write_site(tmp_path, {"index.html": b"a", "incidents/x.html": b"x"})
    result = write_site(tmp_path, {"index.html": b"a"})
    assert result.removed == ("incidents/x.html",)
    assert not (tmp_path / "incidents/x.html").exists()
    assert (tmp_path / "robots.txt").read_text() == "mine"


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    write_site(tmp_path, {"index.html": b"a" * 100_000})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tocsin-site", "index.html"]


# Each path would write outside the directory.
@pytest.mark.parametrize("path", ["../x.html", "/etc/x.html", "a/../../x.html", ""])
def test_paths_leaving_the_directory_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError, match="not a relative site path"):
        write_site(tmp_path / "site", {path: b"x"})


def test_first_build_appears_whole_and_leaves_no_staging_directory(tmp_path: Path) -> None:
    root = tmp_path / "site"
    result = write_site(root, {"index.html": b"a", "incidents/x.html": b"x"})
    assert result.written == ("incidents/x.html", "index.html")
    assert (root / "incidents/x.html").read_bytes() == b"x"
    assert stat.S_IMODE((root / "incidents/x.html").stat().st_mode) == 0o644
    # Only the site: the staging directory was renamed into place.
    assert [p.name for p in tmp_path.iterdir()] == ["site"]
    assert (root / ".tocsin-site").read_text().splitlines() == ["incidents/x.html", "index.html"]
