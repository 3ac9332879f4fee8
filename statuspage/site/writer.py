"""Writes a rendered site into a directory: only files whose bytes changed, atomically.

Each changed file is written to a temporary file beside it and renamed over the old
one, so a web server reading the directory never serves half a file. A manifest lists
the files written, so that files of an earlier build that no longer exist (an incident
that left the history) are removed, and nothing else in the directory is touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFEST = ".tocsin-site"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did: paths written and removed (relative, sorted)."""

    written: tuple[str, ...]
    removed: tuple[str, ...]


def _target(root: Path, relative: str) -> Path:
    """The file for a site path; refuses paths that would leave the directory."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ValueError(f"not a relative site path: {relative!r}")
    return root.joinpath(*pure.parts)


def _atomic_write(path: Path, data: bytes, made: set[Path] | None = None) -> None:
    if made is None or path.parent not in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        if made is not None:
            made.add(path.parent)  # one mkdir per directory, not per file
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # 0644: a static web server running as another user must read it.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_site(
    root: Path, files: Mapping[str, bytes], previous: Mapping[str, bytes] | None = None
) -> WriteResult:
    """Writes ``files`` under ``root`` and removes files the last write listed that are
    gone now. ``previous`` is what the last write put there: a file equal to it is not
    looked at again (no system call per unchanged file); without it, each file is
    compared with what is on disk."""
    root.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    made: set[Path] = set()
    for relative, data in files.items():
        if previous is not None:
            before = previous.get(relative)
            if before is data or before == data:
                continue
        else:
            path = _target(root, relative)
            if path.exists() and path.read_bytes() == data:
                continue
        _atomic_write(_target(root, relative), data, made)
        written.append(relative)
    manifest = root / MANIFEST
    old = manifest.read_text().splitlines() if manifest.exists() else []
    removed = [p for p in old if p not in files]
    for relative in removed:
        _target(root, relative).unlink(missing_ok=True)
    # The manifest lists paths, not contents: rewritten only when the set of paths changes.
    if removed or len(old) != len(files):
        _atomic_write(manifest, "\n".join(sorted(files)).encode())
    return WriteResult(tuple(sorted(written)), tuple(sorted(removed)))
