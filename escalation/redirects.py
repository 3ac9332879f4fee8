"""Notifiers follow no HTTP redirect: a 3xx answer is a permanent failure.

A receiver that answers 307 or 308 would have the client send the same body (and its
``Authorization`` and ``webhook-signature`` headers) to wherever ``Location`` points,
another host included; a 301/302/303 would turn the page into a GET. Neither is what
the rules said, so no notifier follows one (aiohttp ``allow_redirects=False``, Apprise's
``http_redirects=False``) and the delivery fails for good, naming the status and the
host the receiver pointed at (only the host: the rest of a URL may carry a token), so
the rules can be corrected.
"""

from __future__ import annotations

import urllib.parse


def is_redirect(status: int) -> bool:
    """Whether an HTTP status is a redirection (3xx)."""
    return 300 <= status < 400


def redirect_error(status: int, location: str | None) -> str:
    """The delivery error of a redirect: its status and the host ``Location`` names."""
    where = "no Location"
    if location:
        try:
            host = urllib.parse.urlsplit(location.strip()).hostname
        except ValueError:
            host = None
        where = f"Location host {host}" if host else "a Location on the same host"
    return f"HTTP {status} redirect ({where}); redirects are not followed: fix the URL"
