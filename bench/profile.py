"""Optional sampling profile of the Tocsin server during a run, with py-spy if installed.

py-spy is not a project dependency (``.venv/bin/pip install py-spy`` to use it). It samples
the running server from outside, so Tocsin needs no changes. ``--gil`` samples only the
thread holding the GIL, which is the server's real budget (the SQLite writer thread's
waits would otherwise look like work); ``--native`` shows C frames such as the cyclic
garbage collector, which otherwise hides inside whichever Python call allocated. Each
sample pauses the server briefly, so a profiled run is a little slower.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_GRACE_SECONDS = 30.0
_LINE_NUMBER = re.compile(r":\d+\)$")
_PATH_NOISE = re.compile(r"\([^()]*/(site-packages|lib/python3\.\d+)/")
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent) + "/"
# Inclusive time is shown for Tocsin's own functions below the CLI; the entry point, the
# event loop and aiohttp frames under every request would only push them off the list.
_PROJECT_FRAME = re.compile(
    r"\((core|rules|ingest|correlate|escalation|statuspage|tocsin)/[^()]*\)$"
)
_ENTRY_POINT = "(tocsin/cli.py)"
_ADDRESS = re.compile(r"^0x[0-9a-f]+ ")


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """Where the server spent its GIL-holding time, by function (shares of all samples)."""

    samples: int
    self_share: list[tuple[str, float]]
    inclusive_share: list[tuple[str, float]]
    raw_path: str

    def render(self, top: int = 12) -> str:
        """Formats the top functions by self time and by inclusive time."""
        lines = [f"{self.samples} samples (raw stacks: {self.raw_path})", "  self time:"]
        lines += [f"    {share:5.1%}  {name}" for name, share in self.self_share[:top]]
        lines.append("  inclusive time (Tocsin functions):")
        lines += [f"    {share:5.1%}  {name}" for name, share in self.inclusive_share[:top]]
        return "\n".join(lines)


def find_py_spy() -> str | None:
    """Returns the py-spy next to this Python, or on PATH, or None."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


@contextmanager
def recording(py_spy: str, pid: int, duration_s: float, output: Path) -> Iterator[None]:
    """Samples ``pid`` for ``duration_s`` while the body runs; writes collapsed stacks."""
    command = [
        py_spy, "record", "--pid", str(pid), "--duration", str(max(1, int(duration_s))),
        "--rate", "100", "--gil", "--native", "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
        try:
            _, stderr = process.communicate(timeout=duration_s + _GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise RuntimeError("py-spy did not finish") from None
        if process.returncode != 0:
            raise RuntimeError(f"py-spy failed: {stderr.decode(errors='replace').strip()}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def summarise(raw_path: Path, top: int = 25) -> ProfileSummary:
    """Reads py-spy's raw (collapsed) stacks and ranks functions by self and inclusive time."""
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        total += count
        self_samples[frames[-1]] += count
        for name in set(frames):
            if _PROJECT_FRAME.search(name) and not name.endswith(_ENTRY_POINT):
                inclusive[name] += count
    if total == 0:
        return ProfileSummary(0, [], [], str(raw_path))
    return ProfileSummary(
        samples=total,
        self_share=[(name, n / total) for name, n in self_samples.most_common(top)],
        inclusive_share=[(name, n / total) for name, n in inclusive.most_common(top)],
        raw_path=str(raw_path),
    )


def _function(frame: str) -> str:
    # "append (/work/main/core/store/sqlite.py:120)" -> "append (core/store/sqlite.py)",
    # library paths shortened to the part after site-packages or lib/python3.x.
    # Native frames without symbols are counted per library: "0x7f36... (libc.so.6)".
    name = _ADDRESS.sub("[native] ", _LINE_NUMBER.sub(")", frame.strip()))
    name = name.replace(_PROJECT_ROOT, "")
    return _PATH_NOISE.sub("(", name)
