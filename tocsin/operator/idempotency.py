"""``Idempotency-Key`` and ``If-Match`` of the incident actions.

A POST with an ``Idempotency-Key`` (at most 200 printable ASCII characters) records its
answer in the store, in the same atomic write as the change it made (a consumer
document of collection :data:`COLLECTION`, see ``CorrelationCommit.documents``): a
crash can lose both or neither, never act without the record. A retry with the same key
and the same request (method, path, body) answers the recorded answer again without
acting; the same key with another request is a 422. Keys are per API key (two clients
cannot collide) and expire after :data:`KEEP`: each action's write also deletes a few
expired ones, found through the documents' due index.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web

from core.errors import FieldProblem, IdempotencyMismatch, InvalidFields
from core.store import Store
from core.store.events import ConsumerWrite
from core.timestamps import from_micros, micros

COLLECTION = "idempotency"
KEEP = timedelta(hours=24)
MAX_KEY = 200
# Expired keys each action's write deletes at most: keys expire about as fast as they come.
_SWEEP = 10


@dataclass(frozen=True, slots=True)
class Recorded:
    """An answer recorded for a key: status, JSON body and ETag."""

    status: int
    body: bytes
    etag: str

    def response(self) -> web.Response:
        """The recorded answer, marked as a replay."""
        headers = {"ETag": self.etag, "Idempotent-Replayed": "true"}
        return web.Response(
            body=self.body, status=self.status, content_type="application/json", headers=headers
        )


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A request's key, as stored (scoped to the API key), and its request's fingerprint."""

    key: str
    request: str

    async def recorded(self, store: Store, now: datetime) -> Recorded | None:
        """The answer recorded for this key, if any and not expired; 422 for another request."""
        found = (await store.consumer_documents(COLLECTION, [self.key])).get(self.key)
        if found is None or from_micros(found["created_at"]) + KEEP <= now:
            return None
        if found["request"] != self.request:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used with another request (method, path or body)"
            )
        return Recorded(found["status"], found["body"].encode(), found["etag"])

    def record(self, answer: Recorded, now: datetime) -> ConsumerWrite:
        """The document that records ``answer`` for this key, due to expire after KEEP."""
        document: dict[str, Any] = {
            "request": self.request,
            "status": answer.status,
            "body": answer.body.decode(),
            "etag": answer.etag,
            "created_at": micros(now),
        }
        return ConsumerWrite(COLLECTION, self.key, document, due=now + KEEP)


def idempotency_key(request: web.Request, client: str, body: object) -> IdempotencyKey | None:
    """Reads the ``Idempotency-Key`` header (None if absent); 400 naming it if malformed."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not 0 < len(raw) <= MAX_KEY or not (raw.isascii() and raw.isprintable()):
        reason = f"must be 1 to {MAX_KEY} printable ASCII characters"
        raise InvalidFields([FieldProblem("Idempotency-Key", reason)])
    key = hashlib.sha256(f"{client}\n{raw}".encode()).hexdigest()
    what = orjson.dumps(
        {"method": request.method, "path": request.path, "body": body},
        option=orjson.OPT_SORT_KEYS,
    )
    return IdempotencyKey(key, hashlib.sha256(what).hexdigest())


async def expired_keys(store: Store, now: datetime, keep: str) -> tuple[ConsumerWrite, ...]:
    """Deletions of a few keys expired by ``now`` (not ``keep``, which is being written)."""
    due = await store.due_documents(COLLECTION, now, _SWEEP)
    return tuple(ConsumerWrite(COLLECTION, key) for key, _ in due if key != keep)


def if_match(request: web.Request) -> set[int] | None:
    """The versions ``If-Match`` accepts; None when absent or ``*`` (any version).

    A weak tag (``W/"3"``) is well formed but matches no version: If-Match compares
    strongly (RFC 9110, 13.1.1), and this API gives strong tags only.
    """
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    versions: set[int] = set()
    for tag in raw.split(","):
        tag = tag.strip()
        weak = tag.startswith("W/")
        tag = tag.removeprefix("W/")
        inner = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
        if not (inner.isascii() and inner.isdigit() and len(inner) <= 18):
            reason = 'must be an ETag this API gave, e.g. "3", or *'
            raise InvalidFields([FieldProblem("If-Match", reason)])
        if not weak:
            versions.add(int(inner))
    return versions
