"""A silence POST, read within its limits and checked field by field.

The body is bounded before it is parsed: one POST of 150,000 matchers once held the
event loop for seconds while it was decoded and parsed, and no silence within
``--max-silence-bytes`` needs a body much larger than that.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from core.codec import encode_silence
from core.errors import FieldProblem, InvalidFields, PayloadTooLarge, UnsupportedMedia
from core.silence import LabelMatcher, Silence
from core.timestamps import parse_rfc3339
from rules.matchers import parse_matcher
from tocsin.operator.json_body import read_bounded

_KEYS = {"matchers", "starts_at", "ends_at", "comment", "created_by"}
# JSON escapes (\" and \\ in matchers) can make a body up to twice its silence, plus
# the keys and timestamps around it.
_BODY_OVERHEAD_BYTES = 4096


class BodyLimit(int):
    """A body size limit in bytes that knows the flag it comes from, for the 413 to name."""

    flag: str
    why: str  # how the size follows from the flag, as the 413 says it

    def __new__(cls, size: int, flag: str, why: str = "") -> BodyLimit:
        """A limit of ``size`` bytes set by ``flag`` (e.g. ``max_body_bytes``)."""
        limit = super().__new__(cls, size)
        limit.flag = flag
        limit.why = why or f"--{flag.replace('_', '-')}"
        return limit


def body_limit(max_silence_bytes: int, max_body_bytes: int) -> BodyLimit:
    """The largest silence POST body read: bounded by the silence limit, if there is one.

    It names the flag that set it: with ``--max-silence-bytes 0`` (or a body limit below
    twice the silence limit) that is ``--max-body-bytes``.
    """
    by_silence = 2 * max_silence_bytes + _BODY_OVERHEAD_BYTES
    if max_silence_bytes <= 0 or max_body_bytes <= by_silence:
        return BodyLimit(max_body_bytes, "max_body_bytes")
    why = (
        f"twice --max-silence-bytes ({max_silence_bytes}) and {_BODY_OVERHEAD_BYTES} for the"
        " JSON around it"
    )
    return BodyLimit(by_silence, "max_silence_bytes", why)


async def read_json_object(request: web.Request, limit: int) -> dict[str, Any]:
    """Reads a JSON object body of at most ``limit`` bytes; 413 past it, before any parsing."""
    if request.content_type != "application/json":
        raise UnsupportedMedia(
            f"Content-Type must be application/json, not {request.content_type!r}",
            field="Content-Type",
        )
    # Only the app's own request limit applies to a plain int.
    if not isinstance(limit, BodyLimit):
        limit = BodyLimit(limit, "max_body_bytes")
    too_large = PayloadTooLarge(
        f"a silence body is at most {limit} bytes ({limit.why})", field=limit.flag
    )
    raw = await read_bounded(request, limit, too_large)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidFields([FieldProblem("body", f"is not valid JSON: {exc}")]) from exc
    if not isinstance(body, dict):
        raise InvalidFields([FieldProblem("body", "must be a JSON object")])
    return body


def check_silence_size(silence: Silence, max_silence_bytes: int) -> None:
    """Raises 413 naming the limit if the silence, as stored, is larger than it."""
    size = len(encode_silence(silence))
    if 0 < max_silence_bytes < size:
        raise PayloadTooLarge(
            f"the silence takes {size} bytes; --max-silence-bytes allows {max_silence_bytes}",
            field="max_silence_bytes",
        )


def silence_from(body: dict[str, Any], now: datetime, default_creator: str) -> Silence:
    """Builds a new silence from a POST body; raises a 400 naming every bad field."""
    problems: list[FieldProblem] = [
        FieldProblem(k, "unknown field") for k in sorted(body.keys() - _KEYS)
    ]
    matchers = _matchers(body.get("matchers"), problems)
    starts_at = _instant(body, "starts_at", problems) or now
    ends_at = _instant(body, "ends_at", problems)
    if ends_at is None and not any(p.field == "ends_at" for p in problems):
        # Absent, null or Go's zero time: a silence needs an end.
        problems.append(FieldProblem("ends_at", "is required"))
    elif ends_at is not None and ends_at <= now:
        # Said first: with no starts_at given (it is now), "after starts_at" misleads.
        problems.append(FieldProblem("ends_at", "is in the past: a silence must end later"))
    elif ends_at is not None and ends_at <= starts_at:
        problems.append(FieldProblem("ends_at", "must be after the start"))
    comment = body.get("comment")
    if not isinstance(comment, str) or not comment.strip():
        problems.append(FieldProblem("comment", "is required: say why"))
    created_by = body.get("created_by", default_creator)
    if not isinstance(created_by, str) or not created_by.strip():
        problems.append(FieldProblem("created_by", "must be a non-empty string"))
    if problems or ends_at is None or not isinstance(comment, str):
        raise InvalidFields(problems)
    return Silence(uuid.uuid4().hex, tuple(matchers), starts_at, ends_at, created_by, comment, now)


def _matchers(raw_matchers: object, problems: list[FieldProblem]) -> list[LabelMatcher]:
    if not isinstance(raw_matchers, list) or not raw_matchers:
        problems.append(
            FieldProblem("matchers", "a non-empty list like ['alertname=\"DiskFull\"']")
        )
        return []
    matchers: list[LabelMatcher] = []
    match_empty = True  # every matcher so far matches an alert with no labels
    for index, text in enumerate(raw_matchers):
        try:
            if not isinstance(text, str):
                raise ValueError("must be a string")
            parsed = parse_matcher(text)
        except ValueError as exc:
            problems.append(FieldProblem(f"matchers[{index}]", str(exc)))
            continue
        matchers.append(LabelMatcher(parsed.name, parsed.type.value, parsed.value))
        match_empty = match_empty and parsed.matches({})
    if matchers and match_empty:
        # Alertmanager refuses silences that would match every alert: `a=""` matches
        # each alert without an `a` label, `a!="x"` each without `a="x"`.
        problems.append(
            FieldProblem("matchers", "at least one matcher must not match the empty string")
        )
    return matchers


def _instant(body: dict[str, Any], name: str, problems: list[FieldProblem]) -> datetime | None:
    raw = body.get(name)
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        return parse_rfc3339(raw)
    except ValueError as exc:
        problems.append(FieldProblem(name, f"invalid RFC 3339 timestamp: {exc}"))
        return None
