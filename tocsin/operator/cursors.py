"""Self-checking cursors of the operator API's pages: a ``next`` link's, or a 400.

A cursor is opaque: base64url of a checksum and then the position as JSON. The checksum
covers the position and what the page is of (``scope``: the list's filters, or the
incident and which of its pages), so that a cursor made up, mistyped, or taken from
another list or incident fails its check and is a 400 naming the parameter, rather than
a page that is silently empty or of something else.

It catches mistakes, not forgery: a cursor only says where a page starts, and whoever
holds the key may read every page anyway, so no secret is needed (and any replica, or
the server after a restart, checks a cursor another gave).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson

# Bytes of checksum: a made-up cursor passes with odds of 1 in 2**64.
_CHECK = 8
# The longest cursor read: far longer than any position this API gives.
MAX_CURSOR_CHARS = 400


def _checksum(scope: str, raw: bytes) -> bytes:
    digest = hashlib.blake2b(digest_size=_CHECK, person=b"tocsin-cursor")
    digest.update(scope.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(raw)
    return digest.digest()


def encode_cursor(position: Any, scope: str) -> str:
    """The cursor of ``position`` (JSON-able) in the pages of ``scope``."""
    raw = orjson.dumps(position)
    token = base64.urlsafe_b64encode(_checksum(scope, raw) + raw)
    return token.rstrip(b"=").decode("ascii")


def decode_cursor(text: str, scope: str) -> Any:
    """The position ``text`` holds if :func:`encode_cursor` gave it for ``scope``.

    Raises ValueError otherwise (not base64url, too long, or failing its check).
    """
    if not text.isascii() or not 0 < len(text) <= MAX_CURSOR_CHARS:
        raise ValueError("not a cursor")
    try:
        token = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a cursor") from exc
    check, raw = token[:_CHECK], token[_CHECK:]
    if len(check) != _CHECK or _checksum(scope, raw) != check:
        raise ValueError("not a cursor of these pages")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:  # pragma: no cover - the check passed
        raise ValueError("not a cursor") from exc
