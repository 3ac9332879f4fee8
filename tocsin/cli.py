"""The ``tocsin`` command: ``serve`` runs the server, ``correlate`` only the correlator,
``check`` validates rules."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import structlog
from aiohttp import web

from core.errors import RuleError
from core.logging import configure_logging
from core.settings import Settings, add_settings_arguments, settings_from
from tocsin.app import create_app
from tocsin.check import run_check
from tocsin.cli_incidents import add_incidents_parser, run_incidents
from tocsin.cli_oncall import add_oncall_parser, run_oncall
from tocsin.cli_statuspage import add_statuspage_parser, run_statuspage
from tocsin.correlator_app import create_correlator_app
from tocsin.parent import die_with_parent
from tocsin.preflight import PreflightError, check_store_directory, listening_sockets
from tocsin.receiver import DEFAULT_PORT as DEFAULT_RECEIVER_PORT
from tocsin.receiver import run_receiver
from tocsin.reports.command import add_report_parser, run_report
from tocsin.serving import run_server

# Where a `tocsin correlate` of its own serves /metrics unless told otherwise.
CORRELATOR_PORT = 9798


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process exit code.

    When the reader of stdout goes away (``tocsin oncall feeds | head``), the command
    ends quietly with 141, as one killed by SIGPIPE would, instead of a traceback.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()  # a pipe closed early fails here, not at the interpreter's exit
    except BrokenPipeError:
        # Python's documented remedy: stdout to /dev/null, so the flush at exit cannot
        # fail again and print "Exception ignored".
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="tocsin", description="Alerts in, incidents out.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    add_settings_arguments(serve)
    correlate = commands.add_parser(
        "correlate", help="run only the correlator (serve starts one as its child)"
    )
    add_settings_arguments(correlate)
    correlate.add_argument(
        "--metrics-socket",
        type=Path,
        help="serve /metrics and health on this UNIX socket instead of --host/--port",
    )
    correlate.add_argument(
        "--parent-pid", type=int, help="exit when this process (the serve that started it) dies"
    )
    check = commands.add_parser("check", help="validate rules and summarise them")
    check.add_argument("path", type=Path, help="rules file or directory")
    check.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )
    check.add_argument(
        "--explain",
        type=Path,
        metavar="ALERT.json",
        help="show what the rules do with this alert ({labels, annotations} or a list)",
    )
    check.add_argument(
        "--resolve-secrets",
        action="store_true",
        help="also read the secrets the rules reference (environment variables, files), "
        "as serve does; by default only their references are checked",
    )
    add_incidents_parser(commands)
    add_report_parser(commands)
    add_oncall_parser(commands)
    add_statuspage_parser(commands)
    receiver = commands.add_parser(
        "receiver", help="print (and verify) the notifications Tocsin sends to a local webhook"
    )
    receiver.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    receiver.add_argument("--port", type=int, default=DEFAULT_RECEIVER_PORT, help="default 9099")
    receiver.add_argument(
        "--secret-file",
        type=Path,
        help="the webhook channel's signing_secret (whsec_...): verify every signature",
    )
    args = parser.parse_args(argv)
    if args.command == "receiver":
        return run_receiver(args.host, args.port, args.secret_file)
    if args.command == "statuspage":
        return run_statuspage(args)
    if args.command == "oncall":
        return run_oncall(args)
    if args.command == "incidents":
        return run_incidents(args)
    if args.command == "report":
        return run_report(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "correlate":
        return _correlate(args)
    return _check(args)


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 2
    sockets = _preflight(settings, listen=True)
    if sockets is None:
        return 2
    app = _application(create_app, settings)
    if app is None:
        for sock in sockets:
            sock.close()
        return 1
    log = structlog.get_logger("tocsin")
    log.info(
        "serving",
        host=settings.host,
        port=settings.port,
        store=_redact(settings.store),
        rules=str(settings.rules),
    )
    app.on_shutdown.append(_log_stopping)
    run_server(app, settings, sockets)
    log.info("stopped")
    return 0


async def _log_stopping(app: web.Application) -> None:
    # The first thing the shutdown that SIGINT or SIGTERM starts runs, before open
    # requests are waited for and the correlator and the store are closed: an operator
    # who pressed Ctrl-C sees at once that it was heard.
    structlog.get_logger("tocsin").info("stopping", reason="SIGINT or SIGTERM")


def _correlate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 2
    if args.port is None and "TOCSIN_PORT" not in os.environ:
        # Beside a `tocsin serve` on the same machine, serve's default port is taken.
        settings = replace(settings, port=CORRELATOR_PORT)
    if args.parent_pid is not None and not die_with_parent(args.parent_pid):
        return 0
    metrics_socket = args.metrics_socket
    sockets = _preflight(settings, listen=metrics_socket is None)
    if sockets is None:
        return 2
    # Its lines share the parent's output: say which process wrote each.
    structlog.contextvars.bind_contextvars(process="correlator")
    wake_dir = None if metrics_socket is None else Path(metrics_socket).parent
    app = _application(partial(create_correlator_app, wake_dir=wake_dir), settings)
    if app is None:
        for sock in sockets:
            sock.close()
        return 1
    structlog.get_logger("tocsin").info(
        "correlating",
        store=_redact(settings.store),
        rules=str(settings.rules),
        metrics=str(metrics_socket) if metrics_socket else f"{settings.host}:{settings.port}",
    )
    if metrics_socket is not None:
        web.run_app(app, path=str(metrics_socket), print=None, access_log=None)
    else:
        web.run_app(app, sock=sockets, print=None, access_log=None)
    return 0


def _preflight(settings: Settings, *, listen: bool) -> list[socket.socket] | None:
    """Checks the store's directory and takes the port, before anything is created.

    None (after one line on stderr) if the server cannot start as configured: a
    traceback after the store file and the correlator child were created helped nobody.
    """
    try:
        check_store_directory(settings.store)
        if not listen:
            return []
        return listening_sockets(settings.host, settings.port, reuse_port=settings.reuse_port)
    except PreflightError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return None


def _settings(args: argparse.Namespace) -> Settings | None:
    """Settings from flags and the environment; None (after saying why) if one is invalid."""
    try:
        return settings_from(args, os.environ)
    except ValueError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return None


def _application(
    factory: Callable[[Settings], web.Application], settings: Settings
) -> web.Application | None:
    """Configures logging and builds the application; None (logged) if the rules are invalid."""
    configure_logging(settings.log_format, settings.log_level)
    try:
        app = factory(settings)
    except RuleError as exc:
        structlog.get_logger("tocsin").error(
            "rules are invalid", problems=[str(p) for p in exc.problems]
        )
        return None
    tune_garbage_collector()
    tune_thread_switching()
    return app


# How long a thread may hold the interpreter while another waits for it (CPython's
# default is 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001


def tune_thread_switching() -> None:
    """Hands the interpreter to the event loop sooner when a worker thread computes."""
    # Renders (the Alertmanager API's, the status page's) and the stores' reader threads
    # run Python in worker threads. Each time the loop thread gives the interpreter up
    # for a system call (epoll, recv, send), it waits up to the switch interval to get it
    # back, so one request could wait a dozen intervals: at 5 ms, /-/healthy took 40-42 ms
    # during a render of 100,000 alerts; at 1 ms, 19-27 ms (python -m bench amapi).
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def tune_garbage_collector() -> None:
    """Freezes what exists at start-up out of collections and collects far less often."""
    # Ingest and correlation allocate many short-lived containers per alert; with the
    # default threshold (700) the collector runs every few requests and rescans
    # long-lived state. Objects that exist at start-up are frozen out of collections.
    # The threshold counts containers allocated and not yet freed: at 200,000 a storm
    # step of the correlator is collected about once, not a few times over, which took
    # its collector time from 7% to under 2% (measured on a 200,000-alert backlog).
    # A pass walks every tracked container allocated since the last one and still alive,
    # with the GIL held: what serve keeps per alert must be untracked (plain dicts of
    # strings and bytes, msgspec structs with gc=False), or after 100,000 new alerts one
    # pass holds its event loop 25-125 ms (tests/tocsin/test_serve_state_untracked.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(200_000, 20, 100)


def _check(args: argparse.Namespace) -> int:
    return run_check(args.path, args.format, args.explain, resolve_secrets=args.resolve_secrets)


def _redact(url: str) -> str:
    # A Redis URL may carry a password (redis://:secret@host); logs must not.
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


if __name__ == "__main__":
    sys.exit(main())
