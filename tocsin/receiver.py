"""``tocsin receiver``: a local webhook receiver that verifies and prints what Tocsin sends.

For trying paging out without any outside service (README "Paging"): point a webhook
channel (or an apprise ``json://`` URL) at it and every notification is printed, one
summary line each, then its JSON body indented. It listens on 127.0.0.1 by default and
takes POSTs on any path.

With ``--secret-file`` (the channel's ``signing_secret``, a Standard Webhooks
``whsec_...`` secret), each request's ``webhook-signature`` is verified with the
standardwebhooks package, as a real receiver would; a forged or unsigned request is
answered 401 and printed as rejected. Without it, signatures are shown as not checked.
Printed text has control characters replaced, so an alert's title cannot drive the
terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from rules.sections.channels import signing_secret_problem

DEFAULT_PORT = 9099
# A notification is small; anything much larger is not one.
MAX_BODY_BYTES = 1024 * 1024


class Receiver:
    """Verifies (if it has a secret) and prints each notification it receives."""

    def __init__(self, secret: str | None, out: TextIO) -> None:
        self._verifier = None if secret is None else Webhook(secret)
        self._out = out
        self.received = 0

    async def handle(self, request: web.Request) -> web.Response:
        """Prints the request; 204, or 401 when the signature does not verify."""
        body = await request.read()
        text = body.decode("utf-8", "replace")
        verdict, ok = self._verify(text, request)
        self.received += 1
        payload = _json(text)
        self._print(request.path, request.headers.get("webhook-id"), verdict, payload, text)
        return web.Response(status=204 if ok else 401)

    def _verify(self, text: str, request: web.Request) -> tuple[str, bool]:
        if self._verifier is None:
            return "signature not checked (no --secret-file)", True
        try:
            self._verifier.verify(text, dict(request.headers))
        except WebhookVerificationError as exc:
            return f"REJECTED: {exc}", False
        return "signature verified", True

    def _print(
        self, path: str, webhook_id: str | None, verdict: str, payload: Any, text: str
    ) -> None:
        lines = [f"--- POST {path}  webhook-id={webhook_id or '-'}  {verdict}"]
        summary = summarise(payload)
        if summary:
            lines.append(summary)
        shown = text if payload is None else json.dumps(payload, indent=2, ensure_ascii=False)
        lines.append(shown)
        print(printable("\n".join(lines)), file=self._out, flush=True)


def summarise(payload: Any) -> str | None:
    """One line about a Tocsin page (webhook body), or None for anything else."""
    if not isinstance(payload, dict) or not isinstance(payload.get("incident"), dict):
        return None
    incident = payload["incident"]
    found = payload.get("page")
    page: dict[str, Any] = found if isinstance(found, dict) else {}
    who = page.get("person") or f"channel {page.get('channel')}"
    return (
        f"{payload.get('type', 'notification')}: [{incident.get('priority') or '-'}] "
        f"{incident.get('title')} ({incident.get('state')}) -> level {page.get('level')} "
        f"{who}"
    )


def printable(text: str) -> str:
    """The text with control characters (but newlines) shown as U+FFFD."""
    return "".join(c if c == "\n" or c.isprintable() else "\ufffd" for c in text)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def create_receiver_app(secret: str | None, out: TextIO = sys.stdout) -> web.Application:
    """The receiver's application: POST on any path."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    receiver = Receiver(secret, out)
    app.router.add_post("/{path:.*}", receiver.handle)
    return app


def read_secret_file(path: Path) -> str:
    """The signing secret in ``path`` (whitespace stripped)."""
    return path.read_text(encoding="utf-8").strip()


def run_receiver(
    host: str,
    port: int,
    secret_file: Path | None,
    run: Callable[..., None] = web.run_app,
) -> int:
    """Serves until interrupted; returns the exit code (2: an unusable secret file; 1: the
    address cannot be listened on)."""
    secret = None
    if secret_file is not None:
        try:
            secret = read_secret_file(secret_file)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"tocsin receiver: cannot use {secret_file}: {exc}", file=sys.stderr)
            return 2
        problem = signing_secret_problem(secret)
        if problem is not None:
            print(f"tocsin receiver: the secret in {secret_file} {problem}", file=sys.stderr)
            return 2
    print(
        f"tocsin receiver: listening on http://{host}:{port}/ "
        f"({'verifying signatures' if secret else 'not checking signatures'}); Ctrl-C stops",
        flush=True,
    )
    try:
        run(create_receiver_app(secret), host=host, port=port, print=None, access_log=None)
    except OSError as exc:
        # A port in use or an address not of this host: one line, not a traceback.
        print(f"tocsin receiver: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
