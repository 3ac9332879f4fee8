"""``python -m bench correlation``: Tocsin's correlation stage, measured in-process.

Three parts, each on SQLite and on Redis (a ``redis-server`` the bench starts on a free
port), each time on a fresh store, with the garbage collector tuned as the CLI tunes it:

- ``noise`` (bench/noise_run.py): a seeded alert timeline with known truth goes through
  the real correlator on a manual clock; the incidents are scored against the truth.
- ``throughput`` (bench/correlator_load.py): the ingest bench's ``resend`` and ``storm``
  shapes are appended to the log as fast as possible while the correlator consumes it;
  reports entries/s and how far behind the log the correlator is.
- ``drain`` (bench/correlator_drain.py): the log is filled first, then one correlator
  works it off alone: its capacity, in entries per second and per CPU-second.

The figures are printed and merged into bench/results/latest.json under ``correlation``.
See bench/README.md for how to read them.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import subprocess
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench.correlator_drain import DRAIN_SHAPES, DrainResult, render_drain, run_drain
from bench.correlator_harness import STORE_NAMES, fresh_store, opened, write_rules
from bench.correlator_load import SHAPES, LoadResult, render_load, run_load
from bench.noise import NoiseWorkload, generate
from bench.noise_run import NoiseResult, render_noise, run_noise
from bench.servers import ServerError
from core.errors import TocsinError
from core.store import Store
from rules.model import Rules
from tocsin.cli import tune_garbage_collector

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"
PART_NAMES = ("noise", "throughput", "drain")
_T = TypeVar("_T")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the correlation bench; returns 0 if every run succeeded."""
    args = _parser().parse_args(argv)
    parts = args.only or PART_NAMES
    stores = args.stores or STORE_NAMES
    started = datetime.now(UTC)
    existing = _read_json(args.output)
    noise: list[NoiseResult] = []
    load: list[LoadResult] = []
    drains: list[DrainResult] = []
    profiler = cProfile.Profile() if args.profile else None
    tune_garbage_collector()
    if "noise" in parts:
        workload = generate(args.seed)
        for store in stores:
            for via_ingest in (False, True):
                _say(f"correlation noise -> {store} ({'ingest filter' if via_ingest else 'raw'})")
                noise.append(_noise(store, workload, via_ingest, profiler))
        print(render_noise(workload, noise))
    if "throughput" in parts:
        for store in stores:
            for shape in SHAPES:
                _say(f"correlation throughput {shape} -> {store}")
                load.append(_load(store, shape, profiler))
        print(render_load(load))
    if "drain" in parts:
        for store in stores:
            for shape in DRAIN_SHAPES:
                _say(f"correlation drain {shape} -> {store}")
                drains.append(_drain(store, shape, profiler))
        print(render_drain(drains, existing))
    if profiler is not None:
        print(_profile_text(profiler, args.output.parent / "profile-correlation.txt"))
    report: dict[str, Any] = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "settings": {"seed": args.seed, "stores": list(stores), "parts": list(parts)},
        # The correlator runs in-process: whatever this tree holds, uncommitted edits included.
        "tocsin_commit": _git("rev-parse", "--short", "HEAD"),
        "tocsin_worktree_dirty": bool(_git("status", "--porcelain")),
        "noise": [asdict(r) for r in noise],
        "throughput": [asdict(r) for r in load],
        "drain": [asdict(r) for r in drains],
        "profiled": profiler is not None,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    merged = {**_read_json(args.output), "correlation": report}
    args.output.write_text(json.dumps(merged, indent=2) + "\n")
    _say(f"merged correlation results into {args.output}")
    failed = any(r.error for r in noise) or any(r.error for r in load)
    failed = failed or any(r.error for r in drains)
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench correlation", description=__doc__)
    parser.add_argument("--only", action="append", choices=PART_NAMES, help="part (repeatable)")
    parser.add_argument(
        "--stores", action="append", choices=STORE_NAMES, help="store backend (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the noise workload")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the runs (event-loop thread only); slows them down",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_FILE, help="JSON file to merge the results into"
    )
    return parser


def _noise(
    store_name: str, workload: NoiseWorkload, via_ingest: bool, profiler: cProfile.Profile | None
) -> NoiseResult:
    return _on_fresh_store(
        store_name,
        profiler,
        lambda store, rules: run_noise(store_name, store, rules, workload, via_ingest),
        lambda error: NoiseResult.failed(store_name, via_ingest, error),
    )


def _load(store_name: str, shape: str, profiler: cProfile.Profile | None) -> LoadResult:
    return _on_fresh_store(
        store_name,
        profiler,
        lambda store, rules: run_load(store_name, store, rules, shape),
        lambda error: LoadResult(store=store_name, shape=shape, error=error),
    )


def _drain(store_name: str, shape: str, profiler: cProfile.Profile | None) -> DrainResult:
    return _on_fresh_store(
        store_name,
        profiler,
        lambda store, rules: run_drain(store_name, store, rules, shape),
        lambda error: DrainResult(store=store_name, shape=shape, error=error),
    )


def _on_fresh_store(
    store_name: str,
    profiler: cProfile.Profile | None,
    run: Callable[[Store, Rules], Coroutine[Any, Any, _T]],
    failed: Callable[[str], _T],
) -> _T:
    """Runs ``run`` on a fresh, open store with the bench rules; ``failed(why)`` if it fails."""
    try:
        with fresh_store(store_name) as (store, workdir):
            rules = write_rules(workdir)

            async def go() -> _T:
                async with opened(store):
                    return await run(store, rules)

            return _profiled(profiler, go)
    except (ServerError, TocsinError, OSError, RuntimeError) as exc:
        return failed(str(exc))


def _profiled(profiler: cProfile.Profile | None, go: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Runs ``go`` in a new event loop, under the profiler if there is one."""
    if profiler is None:
        return asyncio.run(go())
    profiler.enable()
    try:
        return asyncio.run(go())
    finally:
        profiler.disable()


def _profile_text(profiler: cProfile.Profile, path: Path, top: int = 25) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(60)
    lines = ["", f"profile of the correlation runs (full listing: {path}), by own time:"]
    stats = pstats.Stats(profiler)
    entries: list[tuple[float, float, str]] = []
    for (file, line, function), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        entries.append((tottime, cumtime, f"{_short(file)}:{line}({function})"))
    entries.sort(reverse=True)
    total = sum(e[0] for e in entries) or 1.0
    lines += [f"  {t / total:5.1%} own  {c:7.2f}s cum  {name}" for t, c, name in entries[:top]]
    return "\n".join(lines)


def _short(file: str) -> str:
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return file.removeprefix(root).split("/site-packages/")[-1].split("/lib/python3.11/")[-1]


def _git(*arguments: str) -> str:
    try:
        done = subprocess.run(
            ["git", *arguments], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _say(message: str) -> None:
    sys.stdout.flush()
    print(message, file=sys.stderr, flush=True)
