"""Reading processes from the kernel's /proc, for tests that kill and watch real processes.

A process can exit between ``open()`` and ``read()`` of one of its /proc files; the read then
fails with ESRCH (ProcessLookupError) rather than ENOENT, so every reader here treats both
as "gone".
"""

from __future__ import annotations

from pathlib import Path

_GONE = (FileNotFoundError, ProcessLookupError)


def children_of(pid: int) -> list[int]:
    """The live (non-zombie) children of a process."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except _GONE:
            continue
    return [child for child in found if is_alive(child)]


def is_alive(pid: int) -> bool:
    """Whether a process with this pid still exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except _GONE:
        return False
    return "\nState:\tZ" not in status


def runs_subcommand(pid: int, subcommand: bytes) -> bool:
    """Whether the process's command line has ``subcommand`` as one of its arguments."""
    try:
        return subcommand in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except _GONE:
        return False
