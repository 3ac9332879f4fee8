"""``tocsin incidents``: list, show and work incidents on a running server over its API.

Each command is one HTTP request to the operator API (``--url``, the key from
``TOCSIN_API_KEY``, never printed). Output is a readable table or text, or the server's
JSON with ``--output json``. Exit codes: 0 done; 1 the server refused (its error and the
field at fault are printed) or could not be reached; 2 a usage mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp

from core.clock import Clock, SystemClock
from core.timestamps import format_rfc3339
from rules.durations import parse_duration
from tocsin.cli_incidents_view import answer_json, incident_text, incidents_table

DEFAULT_URL = "http://127.0.0.1:9797"
KEY_VARIABLE = "TOCSIN_API_KEY"
# A person waits at a terminal: say the server is not answering well before a minute.
DEFAULT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Action:
    """A CLI verb that POSTs to ``/api/v1/incidents/{id}/{endpoint}``."""

    endpoint: str
    help: str


ACTIONS: Mapping[str, Action] = {
    "ack": Action("acknowledge", "acknowledge an incident"),
    "assign": Action("assign", "assign an incident to a team or a person from the rules"),
    "note": Action("note", "add a note to an incident's timeline"),
    "resolve": Action("resolve", "resolve an incident with a resolution code and notes"),
    "close": Action("close", "close a resolved incident"),
    "reopen": Action("reopen", "reopen a resolved incident"),
    "escalate": Action("escalate", "page the escalation policy's next level now"),
}


class CliError(Exception):
    """A failure the command reports in one line and exit code 1 (or ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_incidents_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``incidents`` and its commands to the ``tocsin`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=os.environ.get("TOCSIN_URL", DEFAULT_URL),
        help=f"the server's base URL (default $TOCSIN_URL or {DEFAULT_URL})",
    )
    common.add_argument(
        "--output", choices=("table", "json"), default="table", help="output (default table)"
    )
    common.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds to wait"
    )
    incidents = commands.add_parser(
        "incidents", help=f"list, show and work incidents on a server (key from ${KEY_VARIABLE})"
    )
    verbs = incidents.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", parents=[common], help="list incidents, newest first")
    for name in ("state", "priority", "service", "team", "category", "assignee"):
        listing.add_argument(f"--{name}", help=f"only incidents with this {name}")
    listing.add_argument("--since", help="opened at or after: RFC 3339, or a duration ago (24h)")
    listing.add_argument("--until", help="opened before: RFC 3339, or a duration ago")
    listing.add_argument("-q", "--query", help="text in the title (case-insensitive)")
    listing.add_argument("--limit", type=int, help="at most this many")
    listing.add_argument("--cursor", help="the next page (the cursor a list printed)")
    show = verbs.add_parser("show", parents=[common], help="one incident with its timeline")
    show.add_argument("id")
    show.add_argument("--alerts", type=int, default=20, help="alerts shown (default 20)")
    show.add_argument("--timeline", type=int, default=100, help="timeline entries (default 100)")
    for verb, action in ACTIONS.items():
        sub = verbs.add_parser(verb, parents=[common], help=action.help)
        sub.add_argument("id")
        sub.add_argument(
            "--if-match", metavar="VERSION", help="act only if the incident is at this version"
        )
        _action_arguments(verb, sub)


def _action_arguments(verb: str, sub: argparse.ArgumentParser) -> None:
    if verb == "note":
        sub.add_argument("text", help="the note")
        return
    if verb == "assign":
        sub.add_argument("--team", help="a team of the rules")
        sub.add_argument("--person", help="a person of the rules")
    if verb == "resolve":
        sub.add_argument("--code", required=True, help="a resolution code of the rules")
        sub.add_argument("--notes", required=True, help="what was done")
        return
    if verb == "reopen":
        sub.add_argument("--reason", required=True, help="why it is reopened")
        return
    sub.add_argument("--note", help="a note for the timeline")


def action_body(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON body of an action's POST, from the arguments given (absent ones left out)."""
    fields: tuple[str, ...] = {
        "note": ("text",),
        "assign": ("team", "person", "note"),
        "resolve": ("resolution_code", "notes"),
        "reopen": ("reason",),
    }.get(args.verb, ("note",))
    values = {"resolution_code": getattr(args, "code", None), "text": getattr(args, "text", None)}
    body: dict[str, Any] = {}
    for name in fields:
        value = values.get(name, getattr(args, name, None))
        if value is not None:
            body[name] = value
    return body


def run_incidents(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    out: TextIO | None = None,
) -> int:
    """Runs one ``tocsin incidents`` command; returns the exit code."""
    environment = os.environ if env is None else env
    stdout = out or sys.stdout
    try:
        key = environment.get(KEY_VARIABLE, "")
        if not key:
            raise CliError(f"set {KEY_VARIABLE} to an API key from the rules' api_keys", 2)
        request = _request(args, clock or SystemClock())
        answer = asyncio.run(_send(args.url, key, request, args.timeout))
    except CliError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return exc.code
    if args.output == "json":
        stdout.write(answer_json(answer))
    elif args.verb == "list":
        stdout.write(incidents_table(answer.get("incidents", [])))
        cursor = _next_cursor(answer.get("next"))
        if cursor:
            print(f"more: add --cursor {cursor}", file=sys.stderr)
    else:
        stdout.write(incident_text(answer, full=args.verb == "show"))
    return 0


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    params: dict[str, str]
    body: dict[str, Any] | None
    headers: dict[str, str]


def _request(args: argparse.Namespace, clock: Clock) -> _Request:
    """The HTTP request a command makes."""
    if args.verb == "list":
        params = {
            name: str(value)
            for name in ("state", "priority", "service", "team", "category", "assignee", "limit")
            if (value := getattr(args, name)) is not None
        }
        if args.query is not None:
            params["q"] = args.query
        if args.cursor is not None:
            params["cursor"] = args.cursor
        for name in ("since", "until"):
            if getattr(args, name) is not None:
                params[name] = _instant(getattr(args, name), name, clock)
        return _Request("GET", "/api/v1/incidents", params, None, {})
    path = f"/api/v1/incidents/{quote(args.id, safe='')}"
    if args.verb == "show":
        params = {"alerts_limit": str(args.alerts), "timeline_limit": str(args.timeline)}
        return _Request("GET", path, params, None, {})
    if args.verb == "assign" and args.team is None and args.person is None:
        raise CliError("assign needs --team or --person (or both)", 2)
    headers = {} if args.if_match is None else {"If-Match": f'"{args.if_match.strip(chr(34))}"'}
    return _Request("POST", f"{path}/{ACTIONS[args.verb].endpoint}", {}, action_body(args), headers)


def _instant(text: str, name: str, clock: Clock) -> str:
    """An RFC 3339 instant as given, or the instant a duration (``24h``) before now."""
    try:
        return format_rfc3339(clock.now() - parse_duration(text))
    except ValueError:
        pass
    try:
        return format_rfc3339(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise CliError(f"--{name}: {text!r} is neither a duration (24h) nor RFC 3339", 2) from exc


async def _send(url: str, key: str, request: _Request, seconds: float) -> dict[str, Any]:
    """Sends the request; returns the JSON answer or raises CliError saying what failed."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json", **request.headers}
    target = url.rstrip("/") + request.path
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.request(
                request.method, target, params=request.params, json=request.body, headers=headers
            ) as response,
        ):
            text = await response.text()
            status = response.status
    except aiohttp.InvalidURL as exc:
        raise CliError(f"--url {url!r} is not a URL", 2) from exc
    except aiohttp.ClientConnectorError as exc:
        reason = exc.strerror or str(exc)
        raise CliError(f"no Tocsin server answers at {url} ({reason}); is it running?") from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CliError(f"the server at {url} did not answer ({type(exc).__name__}: {exc})") from exc
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if status >= 400 or not isinstance(answer, dict):
        raise CliError(describe_error(status, answer, text))
    return answer


def describe_error(status: int, answer: object, text: str) -> str:
    """One line that says what the server refused and why: its error, field and allowed actions.

    Each is said once: what the server's message already says (a problem's reason, the
    actions a state allows) is not repeated after it.
    """
    if not isinstance(answer, dict):
        snippet = " ".join(text.split())[:200] or "(empty body)"
        return f"HTTP {status}: {snippet}"
    error = str(answer.get("error", "error"))
    parts = [f"HTTP {status}: {error}"]
    problems = answer.get("problems")
    listed = [
        f"{p.get('field')}: {p.get('reason', p.get('message', ''))}"
        for p in (problems if isinstance(problems, list) else [])
        if isinstance(p, dict)
    ]
    untold = [line for line in listed if line not in error]
    if untold:
        parts.append(f"({'; '.join(untold)})")
    elif not listed and answer.get("field") and f"{answer['field']}:" not in error:
        parts.append(f"(field: {answer['field']})")
    allowed = answer.get("allowed")
    if isinstance(allowed, list) and "allow" not in error:
        parts.append(f"allowed: {', '.join(map(str, allowed)) or 'none'}")
    if status == 412 and answer.get("etag"):
        parts.append(f"current version: {answer['etag']}")
    return " ".join(parts)


def _next_cursor(link: object) -> str | None:
    """The cursor of a list's ``next`` link, if there is one."""
    if not isinstance(link, str) or not link:
        return None
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[0] if values else None
