"""The ``tocsin`` command: ``serve`` runs the server, ``check`` validates rules."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog
from aiohttp import web

from core.errors import RuleError
from core.logging import configure_logging
from core.settings import add_settings_arguments, settings_from
from rules.loader import load_rules
from tocsin.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="tocsin", description="Alerts in, incidents out.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    add_settings_arguments(serve)
    check = commands.add_parser("check", help="validate rules and summarise them")
    check.add_argument("path", type=Path, help="rules file or directory")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _check(args.path)


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args, os.environ)
    except ValueError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    log = structlog.get_logger("tocsin")
    try:
        app = create_app(settings)
    except RuleError as exc:
        log.error("rules are invalid", problems=[str(p) for p in exc.problems])
        return 1
    log.info(
        "serving",
        host=settings.host,
        port=settings.port,
        store=_redact(settings.store),
        rules=str(settings.rules),
    )
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


def _check(path: Path) -> int:
    try:
        rules = load_rules(path)
    except RuleError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: OK")
    print(f"  sources: {len(rules.sources)} ({', '.join(s.name for s in rules.sources)})")
    return 0


def _redact(url: str) -> str:
    # A Redis URL may carry a password (redis://:secret@host); logs must not.
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


if __name__ == "__main__":
    sys.exit(main())
