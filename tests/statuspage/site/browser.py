"""Helpers of the browser tests: Debian's chromium through Playwright, a static server
that answers as /status/ does (same CSP), axe-core injected into pages."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tocsin.status_site import SECURITY_HEADERS

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
# The rule tags axe checks: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


class _Handler(SimpleHTTPRequestHandler):
    """Serves a directory with the headers /status/ sends (the strict CSP among them)."""

    extensions_map = {
        ".html": "text/html; charset=utf-8",
        ".json": "application/json",
        ".svg": "image/svg+xml",
        ".atom": "application/atom+xml",
        ".rss": "application/rss+xml",
    }

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serves ``root`` on a free port of 127.0.0.1; yields its base URL."""
    handler = functools.partial(_Handler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """Runs axe-core on the page; returns its serious and critical violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
