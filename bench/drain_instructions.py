"""The correlator's drain counted in CPU instructions, which a busy machine does not change.

``python -m bench.drain_instructions [--shape resend|storm] [--tree PATH]`` fills an
SQLite log with the drain bench's workload (bench/correlator_drain.py), not counted, then
runs one process under valgrind's callgrind that drains it to the end, and one that
drains an empty log (start-up, subtracted). It prints instructions per entry drained.
``--tree`` runs another checkout's code (e.g. a worktree of an older commit) for the
fill and both drains, so two trees compare in one run with the same driver.

Both drains run with the garbage collector tuned as the tree's ``tocsin correlate``
tunes it (``tune_garbage_collector`` in tocsin/cli.py), as the correlation bench's drain
does; ``--python-gc`` keeps Python's default thresholds instead (the figures before
2026-12-02 14:00 UTC), where the collector is about a fifth of a storm drain's time.

Wall-clock rates on this shared machine move by 20% from one minute to the next;
instruction counts repeat to within a fraction of a percent, so a 5% change shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# Under callgrind a drain runs ~50x slower: 40,000 storm alerts take minutes, not hours.
STORM_ALERTS = 40_000
_TOTAL = re.compile(r"^summary:\s+(\d+)", re.MULTILINE)
_HERE = Path(__file__).resolve().parents[1]
_PACKAGES = ("bench", "core", "correlate", "ingest", "rules", "tocsin", "escalation")


async def _fill(database: Path, shape: str, storm_alerts: int) -> int:
    """Logs ``shape`` into a new SQLite store at ``database``; returns the entries logged."""
    from bench.correlator_load import batches
    from core.store.sqlite import SQLiteStore

    store = SQLiteStore(database)
    await store.open()
    logged = 0
    try:
        for batch in batches(shape, storm_alerts=storm_alerts):
            await store.append(batch)
            logged += len(batch)
    finally:
        await store.close()
    return logged


async def _drain(database: Path, rules_dir: Path, deployed_gc: bool = True) -> int:
    """Drains the log at ``database`` to its end with one correlator; returns the entries.

    ``deployed_gc``: the collector tuned as ``tocsin correlate`` tunes it first.
    """
    from bench.correlator_harness import new_correlator, write_rules
    from core.clock import SystemClock
    from core.store.sqlite import SQLiteStore

    if deployed_gc:
        from tocsin.cli import tune_garbage_collector

        tune_garbage_collector()

    store = SQLiteStore(database)
    await store.open()
    try:
        correlator = new_correlator(store, write_rules(rules_dir), SystemClock(), "bench")
        drained = 0
        while (taken := await correlator.step(overlap=True)) > 0:
            drained += taken
        await correlator.settle()
    finally:
        await store.close()
    return drained


def _counted(tree: Path, arguments: Sequence[str], workdir: Path, name: str) -> int:
    """Runs this module's ``arguments`` from ``tree`` under callgrind; returns instructions."""
    out = workdir / f"callgrind.{name}"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        *_this_script(),
        *arguments,
    ]
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(command, check=True, cwd=tree, env=env, capture_output=True)
    found = _TOTAL.search(out.read_text(errors="replace"))
    if found is None:
        raise RuntimeError(f"no summary line in {out}")
    return int(found.group(1))


def measure(
    tree: Path, shape: str, storm_alerts: int = 0, python_gc: bool = False
) -> tuple[int, float]:
    """Returns (entries, instructions per entry) of draining ``shape`` with ``tree``'s code.

    ``python_gc``: the drains keep Python's default collector thresholds.
    """
    # Bytecode compiled beforehand: a drain that compiles a module it imports late
    # counts ~15,000 more instructions per entry (and the shell may forbid writing it).
    compiling = dict(os.environ)
    compiling.pop("PYTHONDONTWRITEBYTECODE", None)
    packages = [str(tree / name) for name in _PACKAGES if (tree / name).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True, env=compiling)
    with tempfile.TemporaryDirectory(prefix="tocsin-drain-instr-") as tmp:
        workdir = Path(tmp)
        env = dict(compiling, PYTHONPATH=str(tree))
        full, empty = workdir / "full.db", workdir / "empty.db"
        storm = ["--storm-alerts", str(storm_alerts or STORM_ALERTS)]
        for database, what in ((full, shape), (empty, "none")):
            subprocess.run(
                [*_this_script(), "--fill", str(database), "--shape", what, *storm],
                check=True,
                cwd=tree,
                env=env,
            )
        entries = int(
            subprocess.run(
                [sys.executable, "-c", _COUNT.format(database=str(full))],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        collector = ["--python-gc"] if python_gc else []
        drain = _counted(
            tree, ["--drain", str(full), "--rules", str(workdir), *collector], workdir, "full"
        )
        start = _counted(
            tree, ["--drain", str(empty), "--rules", str(workdir), *collector], workdir, "empty"
        )
        return entries, (drain - start) / entries


def _this_script() -> list[str]:
    """This file run as a script, with the tree on PYTHONPATH: it need not exist there.

    ``-P`` keeps bench/ itself off sys.path (bench/statuspage.py would shadow a package).
    """
    return [sys.executable, "-P", str(Path(__file__).resolve())]


# The entries logged, read with the stdlib alone so it works for any tree's schema.
_COUNT = (
    "import sqlite3; c = sqlite3.connect({database!r}); "
    "print(c.execute('select count(*) from alert_log').fetchone()[0])"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the fill, the drain, or (by default) the whole measurement."""
    parser = argparse.ArgumentParser(prog="python -m bench.drain_instructions", description=__doc__)
    parser.add_argument("--shape", choices=("resend", "storm", "none"), default="resend")
    parser.add_argument(
        "--storm-alerts", type=int, default=STORM_ALERTS, help="alerts of the storm shape"
    )
    parser.add_argument("--tree", type=Path, default=_HERE, help="checkout whose code runs")
    parser.add_argument(
        "--python-gc",
        action="store_true",
        help="keep Python's default collector thresholds (not tuned as tocsin correlate)",
    )
    parser.add_argument("--fill", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--drain", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rules", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fill is not None:
        if args.shape != "none":
            asyncio.run(_fill(args.fill, args.shape, args.storm_alerts))
        else:
            asyncio.run(_fill_empty(args.fill))
        return 0
    if args.drain is not None:
        asyncio.run(_drain(args.drain, args.rules, deployed_gc=not args.python_gc))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian package valgrind)", file=sys.stderr)
        return 2
    entries, per_entry = measure(args.tree.resolve(), args.shape, args.storm_alerts, args.python_gc)
    collector = "Python's default gc" if args.python_gc else "gc as deployed"
    print(
        f"{args.shape}: {entries:,} entries, {per_entry:,.0f} instructions/entry "
        f"({args.tree}, {collector})"
    )
    return 0


async def _fill_empty(database: Path) -> None:
    """Creates an empty store at ``database`` (the start-up baseline)."""
    from core.store.sqlite import SQLiteStore

    store = SQLiteStore(database)
    await store.open()
    await store.close()


if __name__ == "__main__":
    raise SystemExit(main())
