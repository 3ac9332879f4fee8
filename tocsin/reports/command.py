"""``tocsin report``: MTTA, MTTR, SLA compliance, volumes, backlog and noise of a period.

Reads the store directly (the server may run or not; on SQLite, a reader beside the
server is fine in WAL mode) in pages of incident summaries, and the rules for the SLA
targets and the problems' recurrence count (secrets are not read: the report needs none).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from core.clock import Clock, SystemClock
from core.errors import RuleError, StoreError
from core.problem_candidates import Recurrence
from core.store.factory import store_from_url
from rules.durations import parse_duration
from rules.loader import load_rules
from rules.priority import PriorityRules
from tocsin.reports.collect import collect_figures
from tocsin.reports.figures import Figures
from tocsin.reports.render_html import render_html
from tocsin.reports.render_json import render_json
from tocsin.reports.render_text import render_text

RENDERERS: Mapping[str, Callable[[Figures], str]] = {
    "text": render_text,
    "json": render_json,
    "html": render_html,
}


def add_report_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``report`` to the ``tocsin`` parser."""
    report = commands.add_parser(
        "report", help="MTTA, MTTR, SLA compliance, volumes, backlog and noise of a period"
    )
    report.add_argument(
        "--since", default="30d", help="the period: incidents opened this long ago (default 30d)"
    )
    report.add_argument(
        "--format", choices=tuple(RENDERERS), default="text", help="output (default text)"
    )
    report.add_argument(
        "--store",
        default=os.environ.get("TOCSIN_STORE", "sqlite://tocsin.db"),
        help="sqlite://PATH or redis://HOST:PORT/DB (default $TOCSIN_STORE or sqlite://tocsin.db)",
    )
    report.add_argument(
        "--rules",
        type=Path,
        default=Path(os.environ.get("TOCSIN_RULES", "rules/examples")),
        help="rules file or directory, for the SLA targets (default $TOCSIN_RULES or "
        "rules/examples)",
    )
    report.add_argument("--output", type=Path, help="write to this file instead of stdout")


def run_report(
    args: argparse.Namespace, clock: Clock | None = None, out: TextIO | None = None
) -> int:
    """Runs ``tocsin report``; returns the exit code (2: bad arguments or rules, 1: store).

    An ``--output`` that cannot be written (no such directory, no permission) is a bad
    argument: one line, exit 2, said before the store is read when the directory is not.
    """
    try:
        period = parse_duration(args.since)
    except ValueError as exc:
        print(f"tocsin: --since: {exc}", file=sys.stderr)
        return 2
    if args.output is not None and not args.output.parent.is_dir():
        print(f"tocsin: --output: no directory {args.output.parent}", file=sys.stderr)
        return 2
    try:
        rules = load_rules(args.rules, resolve_secrets=False)
    except (RuleError, OSError) as exc:
        print(f"tocsin: the rules at {args.rules} are invalid: {exc}", file=sys.stderr)
        return 2
    now = (clock or SystemClock()).now()
    try:
        figures = asyncio.run(
            _figures(args.store, rules.priority, rules.problems.recurrence, now - period, now)
        )
    except FileNotFoundError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    except (StoreError, ValueError) as exc:
        print(f"tocsin: cannot read the store {_redact(args.store)}: {exc}", file=sys.stderr)
        return 1
    text = RENDERERS[args.format](figures)
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"tocsin: --output: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        (out or sys.stdout).write(text)
    return 0


async def _figures(
    url: str, priority: PriorityRules, recurrence: Recurrence, since: datetime, now: datetime
) -> Figures:
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        # Opening would create an empty store: a mistyped path reports nothing, silently.
        raise FileNotFoundError(f"no store at {path} (--store sqlite://PATH of the server's)")
    store = store_from_url(url)
    await store.open()
    try:
        return await collect_figures(store, priority, recurrence, since, now)
    finally:
        await store.close()


def _sqlite_path(url: str) -> Path | None:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return Path(url.removeprefix("sqlite://"))
    return Path(url) if scheme == "" else None


def _redact(url: str) -> str:
    # A Redis URL may carry a password (redis://:secret@host): never printed.
    scheme, sep, rest = url.partition("://")
    return scheme + sep + ("***@" + rest.rsplit("@", 1)[1] if "@" in rest else rest)
