"""``tocsin statuspage build``: writes the public status site from the store to a directory.

The output is a complete static site (HTML, ``api/v2/*.json``, feeds, badge) that any
static host serves as it is; ``tocsin serve`` keeps its own copy fresh at ``/status/``.
Only files whose bytes changed are rewritten, each atomically.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from core.clock import Clock, SystemClock
from core.errors import RuleError, StoreError
from core.store.factory import store_from_url
from rules.loader import load_rules
from rules.model import Rules
from statuspage.site import WriteResult, render_site, write_site
from statuspage.snapshot import build_snapshot


def add_statuspage_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``tocsin statuspage build``."""
    statuspage = commands.add_parser("statuspage", help="the public status page")
    actions = statuspage.add_subparsers(dest="statuspage_command", required=True)
    build = actions.add_parser("build", help="write the static status site to a directory")
    build.add_argument("--out", type=Path, required=True, help="output directory")
    build.add_argument(
        "--rules",
        type=Path,
        help="rules file or directory (default $TOCSIN_RULES or rules/examples)",
    )
    build.add_argument(
        "--store",
        help="sqlite://PATH or redis://HOST:PORT/DB (default $TOCSIN_STORE or sqlite://tocsin.db)",
    )


def run_statuspage(
    args: argparse.Namespace, clock: Clock | None = None, env: Mapping[str, str] | None = None
) -> int:
    """Runs ``tocsin statuspage build``; exit 2 for bad rules, 1 when the store fails."""
    environment = os.environ if env is None else env
    rules_path = args.rules or Path(environment.get("TOCSIN_RULES", "rules/examples"))
    store_url = args.store or environment.get("TOCSIN_STORE", "sqlite://tocsin.db")
    try:
        rules = load_rules(rules_path, environment, resolve_secrets=False)
    except (RuleError, OSError) as exc:
        print(f"tocsin: the rules at {rules_path} are invalid:\n{exc}", file=sys.stderr)
        return 2
    if urlsplit(store_url).scheme in ("sqlite", ""):
        path = Path(store_url.removeprefix("sqlite://"))
        if not path.exists():
            # Opening would create an empty store, and publish an empty page, silently.
            print(f"tocsin: no store at {path} (--store sqlite://PATH)", file=sys.stderr)
            return 1
    try:
        result = asyncio.run(_build(store_url, rules, args.out, clock or SystemClock()))
    except (StoreError, OSError, ValueError) as exc:
        print(f"tocsin: cannot build the status site: {exc}", file=sys.stderr)
        return 1
    print(
        f"status site in {args.out}: {len(result.written)} files written, "
        f"{len(result.removed)} removed"
    )
    return 0


async def _build(url: str, rules: Rules, out: Path, clock: Clock) -> WriteResult:
    store = store_from_url(url)
    await store.open()
    try:
        snapshot = await build_snapshot(store, rules, clock.now())
    finally:
        await store.close()
    return write_site(out, render_site(snapshot))
