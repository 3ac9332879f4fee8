"""The serve process's paging work per new incident, counted in CPU instructions.

``python -m bench.paging_instructions [--incidents N] [--store sqlite|redis] [--tree PATH]
[--profile] [--no-callgrind]`` fills a store with N new alerts, each its own incident
(the paging bench's rules, bench/paging_config.py: ``group_wait: 0s``, the policy pages
a webhook channel), correlated to the end by a real correlator: not counted. Then what
``tocsin serve`` runs for paging (the escalation stage, the SLA stage, and outbox
delivery to a real webhook receiver, bench/paging_receiver.py, in a process of its own
and not counted) runs pass after pass until it has nothing left to do, under valgrind's
callgrind: each of the three in a process of its own, in that order (the stages consume
the stream apart; delivery sends what the escalation stage wrote), and all three on an
empty store (start-up, subtracted from each). It prints instructions per incident of
each and in all. ``--no-callgrind`` runs all three in one process and prints its CPU
seconds; ``--profile`` adds cProfile's top functions and self time per file.
``--tree`` runs another checkout's code (e.g. ``git archive`` of an older commit) for
the fill and the passes, so two trees compare in one run with the same driver.

Wall-clock rates on this shared machine move by 20% from one minute to the next;
instruction counts repeat to within about a percent (the receiver's answers interleave
with the passes a little differently from run to run).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

INCIDENTS = 1000
BATCH = 64  # alerts per log append, as ingest's group commit writes them under load
TOKEN = "bench-paging-instructions"  # noqa: S105 (the bench source's token)
_TOTAL = re.compile(r"^summary:\s+(\d+)", re.MULTILINE)
_HERE = Path(__file__).resolve().parents[1]
_PACKAGES = ("bench", "core", "correlate", "ingest", "rules", "tocsin", "escalation")


def _store(where: str) -> Any:
    """The store at ``where``: a Redis URL, else an SQLite file."""
    from core.store.redis import RedisStore
    from core.store.sqlite import SQLiteStore

    return RedisStore(where) if where.startswith("redis://") else SQLiteStore(Path(where))


def _rules(rules_dir: Path) -> Any:
    from rules.loader import load_rules

    return load_rules(rules_dir / "rules.yml", {"TOCSIN_BENCH_TOKEN": TOKEN})


async def _fill(where: str, rules_dir: Path, incidents: int) -> None:
    """Logs ``incidents`` new alerts (one incident each) and correlates them to the end."""
    from prometheus_client import CollectorRegistry

    from core.clock import SystemClock
    from core.fingerprint import labels_fingerprint
    from core.model import Alert, AlertStatus
    from correlate.engine import Correlator
    from correlate.metrics import CorrelatorMetrics
    from rules.correlation import Tuning

    store = _store(where)
    await store.open()
    try:
        now = datetime.now(UTC)
        alerts = []
        for n in range(incidents):
            labels = {"alertname": "PagingBench", "bench_id": f"b{n:06d}", "instance": f"h{n}"}
            alerts.append(
                Alert(
                    source="bench",
                    fingerprint=labels_fingerprint(labels),
                    labels=labels,
                    annotations={"summary": f"bench alert {n}"},
                    status=AlertStatus.FIRING,
                    starts_at=now,
                    ends_at=now + timedelta(hours=1),
                    generator_url="",
                    received_at=now,
                )
            )
        for start in range(0, len(alerts), BATCH):
            await store.append(alerts[start : start + BATCH])
        rules = _rules(rules_dir)
        metrics = CorrelatorMetrics(CollectorRegistry())
        correlator = Correlator(
            store, lambda: rules, Tuning(), SystemClock(), metrics, member="bench"
        )
        while await correlator.step(overlap=True) > 0:
            pass
        await correlator.settle()
    finally:
        await store.close()


TASKS = ("escalation", "sla", "delivery")


async def _page(where: str, rules_dir: Path, tasks: Sequence[str] = TASKS) -> dict[str, int]:
    """Runs ``tasks`` (the stages and delivery) as serve does, until none has anything
    to do."""
    import aiohttp
    from prometheus_client import CollectorRegistry

    from core.clock import SystemClock
    from escalation.delivery import NotifierContext, OutboxDelivery
    from escalation.sla_stage import SlaStage
    from escalation.stage import EscalationStage
    from tocsin.escalation_metrics import EscalationMetrics
    from tocsin.escalation_task import notifiers

    store = _store(where)
    await store.open()
    clock = SystemClock()
    rules = _rules(rules_dir)
    metrics = EscalationMetrics(CollectorRegistry())
    handled = dict.fromkeys(tasks, 0)
    try:
        async with aiohttp.ClientSession() as session:
            stage = EscalationStage(store, lambda: rules, clock, "bench", metrics=metrics)
            sla = SlaStage(store, lambda: rules, clock, "bench", metrics=metrics)
            context = NotifierContext(session, clock, "http://127.0.0.1:9094", None, lambda: rules)
            # The webhook notifier's client, made by the context (a tree before 84571c4,
            # which --tree may run, has none): its kept-alive connections close here.
            webhooks = getattr(context, "webhooks", None)
            try:
                delivery = OutboxDelivery(
                    store, lambda: rules, clock, notifiers(context), metrics=metrics
                )
                steps = {"escalation": stage.step, "sla": sla.step, "delivery": delivery.step}
                while True:
                    done = {name: await steps[name]() for name in tasks}
                    for name, count in done.items():
                        handled[name] += count
                    if not any(done.values()):
                        break
                await delivery.close()
            finally:
                if webhooks is not None:
                    await webhooks.close()
    finally:
        await store.close()
    return handled


def _counted(
    tree: Path, arguments: Sequence[str], workdir: Path, name: str
) -> tuple[int, dict[str, Any]]:
    """Runs this module's ``arguments`` from ``tree`` under callgrind; returns instructions
    and what the run printed (what each task handled)."""
    out = workdir / f"callgrind.{name}"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        *_this_script(),
        *arguments,
    ]
    ran = subprocess.run(
        command, check=True, cwd=tree, env=_env(tree), capture_output=True, text=True
    )
    found = _TOTAL.search(out.read_text(errors="replace"))
    if found is None:
        raise RuntimeError(f"no summary line in {out}")
    return int(found.group(1)), json.loads(ran.stdout.splitlines()[-1])


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _this_script() -> list[str]:
    """This file run as a script, with the tree on PYTHONPATH (``-P``: bench/ off sys.path)."""
    return [sys.executable, "-P", str(Path(__file__).resolve())]


@contextmanager
def _stores(kind: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """Where the full and the empty store live: two SQLite files, or two Redis databases."""
    if kind == "sqlite":
        yield str(workdir / "full.db"), str(workdir / "empty.db")
        return
    from bench import servers

    with servers.redis(workdir) as listening:
        base = f"redis://127.0.0.1:{listening.port}"
        yield f"{base}/0", f"{base}/1"


def measure(
    tree: Path, kind: str, incidents: int, *, callgrind: bool = True, profile: bool = False
) -> dict[str, Any]:
    """Fills, then runs the paging passes with ``tree``'s code; returns the figures."""
    from bench.paging_config import tocsin_rules
    from bench.paging_receiver import receiver

    compiling = dict(os.environ)
    compiling.pop("PYTHONDONTWRITEBYTECODE", None)
    packages = [str(tree / name) for name in _PACKAGES if (tree / name).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True, env=compiling)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tocsin-paging-")))
        url = stack.enter_context(receiver())
        (workdir / "rules.yml").write_text(tocsin_rules(url, 15))
        full, empty = stack.enter_context(_stores(kind, workdir))
        for where, count in ((full, incidents), (empty, 0)):
            fill = ["--fill", where, "--rules", str(workdir), "--incidents", str(count)]
            subprocess.run([*_this_script(), *fill], check=True, cwd=tree, env=_env(tree))
        result: dict[str, Any] = {"store": kind, "incidents": incidents, "tree": str(tree)}
        page = ["--page", full, "--rules", str(workdir)]
        if callgrind:
            # Each task on its own, in the order serve's events flow (the stages
            # consume the stream apart; delivery sends what the escalation stage wrote),
            # then all of them on the empty store: the start-up, subtracted from each.
            start, _ = _counted(tree, ["--page", empty, "--rules", str(workdir)], workdir, "empty")
            total = 0.0
            for task in TASKS:
                counted, handled = _counted(tree, [*page, "--tasks", task], workdir, task)
                result[task] = handled[task]
                result[f"{task}_per_incident"] = round((counted - start) / incidents)
                total += (counted - start) / incidents
            result["instructions_per_incident"] = round(total)
        else:
            extra = ["--profile-out", str(workdir / "profile")] if profile else []
            ran = subprocess.run(
                [*_this_script(), *page, *extra],
                check=True,
                cwd=tree,
                env=_env(tree),
                capture_output=True,
                text=True,
            )
            result |= json.loads(ran.stdout.splitlines()[-1])
            if profile:
                _print_profile(str(workdir / "profile"))
        return result


def _print_profile(path: str) -> None:
    """cProfile's top functions, and the self time summed per file (the main thread only:
    SQLite's own thread is not in it)."""
    stats = pstats.Stats(path)
    stats.sort_stats("cumulative").print_stats(r"escalation|core|tocsin", 40)
    stats.sort_stats("tottime").print_stats(40)
    per_file: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, tottime, _, _) in raw.items():
        per_file[filename] = per_file.get(filename, 0.0) + tottime
    print("self time per file (s):")
    for filename, seconds in sorted(per_file.items(), key=lambda kv: -kv[1])[:40]:
        print(f"{seconds:8.3f}  {filename}")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the fill, the passes, or (by default) the whole measurement."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.paging_instructions", description=__doc__
    )
    parser.add_argument("--incidents", type=int, default=INCIDENTS)
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--tree", type=Path, default=_HERE, help="checkout whose code runs")
    parser.add_argument("--no-callgrind", dest="callgrind", action="store_false")
    parser.add_argument("--profile", action="store_true", help="cProfile (implies --no-callgrind)")
    parser.add_argument("--fill", help=argparse.SUPPRESS)
    parser.add_argument("--page", help=argparse.SUPPRESS)
    parser.add_argument("--rules", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=TASKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fill is not None:
        asyncio.run(_fill(args.fill, args.rules, args.incidents))
        return 0
    if args.page is not None:
        profiler = cProfile.Profile() if args.profile_out else None
        started = time.process_time()
        if profiler is not None:
            profiler.enable()
        handled = asyncio.run(_page(args.page, args.rules, args.tasks))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile_out)
        print(json.dumps({"cpu_s": round(time.process_time() - started, 3), **handled}))
        return 0
    callgrind = args.callgrind and not args.profile
    if callgrind and shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian package valgrind)", file=sys.stderr)
        return 2
    result = measure(
        args.tree.resolve(), args.store, args.incidents, callgrind=callgrind, profile=args.profile
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
