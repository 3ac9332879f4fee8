"""Writes a rendered site into a directory: only files whose bytes changed, atomically.

Into an existing site, each changed file is written to a temporary file beside it and
renamed over the old one, so a web server reading the directory never serves half a
file. A first build (the directory does not exist, or is empty) is written whole into a
staging directory beside it, which is then renamed into place: the site appears at once,
complete, and no file needs its own rename (10,000 renames were a quarter of the cost).
A manifest lists the files written, so that files of an earlier build that no longer
exist (an incident that left the history) are removed, and nothing else in the
directory is touched. Nothing is fsynced: the site is derived data, rebuilt from the
store after a crash.

Paths are handled as strings and files with ``os`` calls: ``pathlib`` objects for each
of 10,000 files cost as much as the system calls.

Symbolic links are never followed below ``root``: a directory of the site that is a link
is refused (OSError) before anything is written or removed through it, and files are
opened with ``O_NOFOLLOW``, so someone who can write into the directory cannot make a
build write or delete files elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

MANIFEST = ".tocsin-site"
# 0644: a static web server running as another user must read the files.
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
_MODE = 0o644


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did: paths written and removed (relative, sorted)."""

    written: tuple[str, ...]
    removed: tuple[str, ...]


def _check(relative: str) -> None:
    """Refuses paths that would leave the directory."""
    parts = relative.split("/")
    if not relative or relative.startswith("/") or ".." in parts or "" in parts:
        raise ValueError(f"not a relative site path: {relative!r}")


def _write(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` (created or truncated), all of it."""
    fd = os.open(path, _FLAGS, _MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _real_directory(base: str, head: str) -> None:
    """Makes ``head`` (``base`` or below it) and its parents below ``base``, refusing any
    that is a symbolic link or not a directory (OSError) instead of following it."""
    relative = os.path.relpath(head, base)
    path = base
    for part in [] if relative == "." else relative.split(os.sep):
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            os.mkdir(path)
            continue
        if not stat.S_ISDIR(mode):  # a link (lstat does not follow it) or a file
            raise OSError(f"not a directory of the site (a symbolic link?): {path}")


def _real_directory_exists(base: str, head: str) -> None:
    """Like :func:`_real_directory` but makes nothing: FileNotFoundError when missing."""
    relative = os.path.relpath(head, base)
    path = base
    for part in [] if relative == "." else relative.split(os.sep):
        path = os.path.join(path, part)
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise OSError(f"not a directory of the site (a symbolic link?): {path}")


def _atomic_write(path: str, data: bytes) -> None:
    """Writes beside ``path``, then renames over it: readers see the old or the new file."""
    head, name = os.path.split(path)
    temporary = os.path.join(head, f".{name}.{os.getpid()}.tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)  # a leftover of a killed build, or a planted link
        _write(temporary, data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _empty(root: Path) -> bool:
    """Whether ``root`` is missing or an empty directory (a first build)."""
    try:
        with os.scandir(root) as entries:
            return next(entries, None) is None
    except FileNotFoundError:
        return True


def _remove_tree(path: str) -> None:
    """Removes a directory tree, or only the link if ``path`` is a symbolic link."""
    if os.path.islink(path):
        os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_staging(root: Path) -> list[str]:
    """Removes staging directories beside ``root`` left by builds whose process is gone
    (killed mid-build: a crash loop would otherwise fill the disk); returns their names."""
    prefix, suffix = f".{root.name}.", ".staging"
    try:
        names = os.listdir(root.parent)
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        pid = name[len(prefix) : -len(suffix)]
        if not (name.startswith(prefix) and name.endswith(suffix) and pid.isdigit()):
            continue
        if int(pid) == os.getpid() or not _alive(int(pid)):
            _remove_tree(str(root.parent / name))
            removed.append(name)
    return removed


def _write_staged(root: Path, files: Mapping[str, bytes]) -> bool:
    """A first build: every file straight into a staging directory, then one rename.
    False (and nothing left behind) when the rename is refused (``root`` a mount point,
    say): the caller then writes file by file."""
    staging = str(root.parent / f".{root.name}.{os.getpid()}.staging")
    _remove_tree(staging)
    os.mkdir(staging, 0o755)  # fails rather than write into what someone else made
    made = set()
    try:
        for relative, data in files.items():
            head = os.path.dirname(relative)
            if head not in made:
                os.makedirs(os.path.join(staging, head), exist_ok=True)
                made.add(head)
            _write(os.path.join(staging, relative), data)
        _write(os.path.join(staging, MANIFEST), "\n".join(sorted(files)).encode())
        try:
            # Replaces an empty directory, or creates it.
            os.replace(staging, root)
        except OSError:
            return False
        return True
    finally:
        _remove_tree(staging)


def _write_order(relative: str) -> int:
    if relative.startswith("incidents/"):
        return 0
    return 2 if relative == "index.html" else 1


def write_site(
    root: Path,
    files: Mapping[str, bytes],
    previous: Mapping[str, bytes] | None = None,
    changed: Collection[str] | None = None,
) -> WriteResult:
    """Writes ``files`` under ``root`` and removes files the last write listed that are
    gone now. ``previous`` is what the last write put there: a file equal to it is not
    looked at again (no system call per unchanged file); without it, each file is
    compared with what is on disk. ``changed`` (with ``previous``) names every path whose
    bytes may differ from ``previous``'s, new paths included (``RenderedSite.fresh``): the
    others are not even compared, so a write costs what changed, not the site's size."""
    if previous is not None and changed is not None:
        return _write_changes(root, files, previous, changed)
    for relative in files:
        _check(relative)
    root = root.absolute()  # "." has no name to stage beside
    root.parent.mkdir(parents=True, exist_ok=True)
    if previous is None:  # this process's first write here
        remove_stale_staging(root)
    if _empty(root) and _write_staged(root, files):
        return WriteResult(tuple(sorted(files)), ())
    root.mkdir(parents=True, exist_ok=True)
    base = str(root)
    written: list[str] = []
    made: set[str] = set()
    listed: dict[str, set[str]] = {}  # directory -> its names, listed once
    # Pages that others link to first, the front page last: a reader following a link
    # of a new index mid-write finds its page (removals come after all writes).
    for relative in sorted(files, key=_write_order):
        data = files[relative]
        path = os.path.join(base, relative)
        head, name = os.path.split(path)
        if previous is not None:
            before = previous.get(relative)
            if before is data or before == data:
                continue
        else:
            names = listed.get(head)
            if names is None:
                try:
                    names = listed[head] = set(os.listdir(head))
                except FileNotFoundError:
                    names = listed[head] = set()
            if name in names and not os.path.islink(path):
                with open(path, "rb") as handle:
                    if handle.read() == data:
                        continue
        if head not in made:
            _real_directory(base, head)  # one per directory, not per file
            made.add(head)
        _atomic_write(path, data)
        written.append(relative)
    manifest = os.path.join(base, MANIFEST)
    try:
        with open(manifest, encoding="utf-8") as handle:
            old = handle.read().splitlines()
    except FileNotFoundError:
        old = []
    removed = [p for p in old if p not in files]
    for relative in removed:
        _check(relative)  # the manifest is ours, but a path in it must not leave either
        path = os.path.join(base, relative)
        with contextlib.suppress(FileNotFoundError):
            _real_directory_exists(base, os.path.dirname(path))
            os.unlink(path)
    # The manifest lists paths, not contents: rewritten only when the set of paths changes.
    if removed or len(old) != len(files):
        _atomic_write(manifest, "\n".join(sorted(files)).encode())
    return WriteResult(tuple(sorted(written)), tuple(sorted(removed)))


def _write_changes(
    root: Path, files: Mapping[str, bytes], previous: Mapping[str, bytes], changed: Collection[str]
) -> WriteResult:
    """:func:`write_site` after a write of ``previous`` into ``root`` by this process: only
    ``changed`` paths are compared and written; the manifest is not read (it lists
    ``previous``'s paths) and is rewritten only when the set of paths changes."""
    added = [p for p in changed if p in files and p not in previous]
    # Every path of ``files`` is in ``previous`` or named: with as many paths as
    # ``previous`` plus those added, none is gone (no look at the 10,000 others).
    same_paths = len(files) == len(previous) + len(added)
    gone: set[str] = set() if same_paths else previous.keys() - files.keys()
    for relative in changed:
        _check(relative)
    root = root.absolute()
    root.mkdir(parents=True, exist_ok=True)
    base = str(root)
    written: list[str] = []
    made: set[str] = set()
    for relative in sorted(changed, key=_write_order):
        data = files.get(relative)
        if data is None:
            continue  # named as changed, but not in the site (removed below)
        before = previous.get(relative)
        if before is data or before == data:
            continue
        path = os.path.join(base, relative)
        head = os.path.dirname(path)
        if head not in made:
            _real_directory(base, head)  # one per directory, not per file
            made.add(head)
        _atomic_write(path, data)
        written.append(relative)
    for relative in gone:
        _check(relative)
        path = os.path.join(base, relative)
        with contextlib.suppress(FileNotFoundError):
            _real_directory_exists(base, os.path.dirname(path))
            os.unlink(path)
    if added or gone:
        _atomic_write(os.path.join(base, MANIFEST), "\n".join(sorted(files)).encode())
    return WriteResult(tuple(sorted(written)), tuple(sorted(gone)))
