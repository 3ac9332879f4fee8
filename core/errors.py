"""The one error hierarchy of Tocsin.

Every error Tocsin raises on purpose derives from :class:`TocsinError`; lower-level
errors (sqlite3, redis, yaml, JSON) are translated at the boundary with
``raise ... from exc`` so the cause stays attached::

    TocsinError
    ├── RuleError              the rules are invalid (names file, line and key)
    ├── InputError             a request cannot be accepted as sent (4xx)
    │   ├── MalformedInput     the body, or items of a batch, are invalid (400)
    │   ├── InvalidFields      operator API parameters or fields are invalid (400)
    │   ├── Unauthenticated    no or wrong credentials (401)
    │   ├── Forbidden          credentials without the needed role (403)
    │   ├── NotFound           no such incident, silence or heartbeat (404)
    │   ├── Conflict           the thing is not in a state that allows this (409)
    │   │   └── InvalidTransition  the incident's state does not allow the action (409)
    │   ├── PreconditionFailed an If-Match names a version that is no longer current (412)
    │   ├── IdempotencyMismatch an Idempotency-Key reused with another request (422)
    │   ├── RequestTimeout     the body did not arrive in time (408)
    │   ├── ClientDisconnected the client left before its body arrived (499, never sent)
    │   ├── PayloadTooLarge    the body is over the size limit (413)
    │   ├── UnsupportedMedia   the content type is not JSON (415)
    │   └── RateLimited        the source sent more than its limit (429)
    └── StoreError             the store failed
        └── StoreUnavailable   a transient failure: the sender should retry (503)

The HTTP middleware in ``tocsin`` maps these to status codes in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class TocsinError(Exception):
    """Base of every error Tocsin raises on purpose."""


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One mistake in a rules file: where it is and what is wrong."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        # A problem of a whole file or path (missing, empty) has no key: no ": :".
        if not self.key:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


class RuleError(TocsinError):
    """The rules are invalid; ``problems`` lists every mistake found."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(TocsinError):
    """A request that cannot be accepted as it was sent; retrying it will not help.

    ``field`` names the parameter, field or limit at fault, when there is one; the
    HTTP error body carries it (see :meth:`details`).
    """

    status = 400

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict[str, object]:
        """Members the JSON error body adds to its status and message: the field at fault."""
        return {} if self.field is None else {"field": self.field}


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """One invalid item of a request: its index in the batch (None for the body), field, reason."""

    index: int | None
    field: str
    reason: str

    def as_json(self) -> dict[str, object]:
        """Returns the problem as the JSON object the HTTP error body lists."""
        return {"index": self.index, "field": self.field, "reason": self.reason}


# The most problems a 400 lists; the others are only counted (``more``): an answer and
# the memory behind it stay small however many items a batch has.
MAX_PROBLEMS = 100


class MalformedInput(InputError):
    """The body or some items of a batch are invalid; ``accepted`` valid items were stored.

    At most :data:`MAX_PROBLEMS` problems are kept; ``more`` counts the others.
    """

    status = 400

    def __init__(self, problems: Sequence[ItemProblem], accepted: int = 0, more: int = 0) -> None:
        self.problems = tuple(problems[:MAX_PROBLEMS])
        self.more = more + max(0, len(problems) - MAX_PROBLEMS)
        self.accepted = accepted
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in self.problems))


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid parameter or field of an operator API request, and why."""

    field: str
    reason: str

    def as_json(self) -> dict[str, object]:
        """Returns the problem as the JSON object the HTTP error body lists."""
        return {"field": self.field, "reason": self.reason}


class InvalidFields(InputError):
    """Parameters or fields of an operator API request are invalid (400); each is named.

    Unlike :class:`MalformedInput` (a batch of alerts, some of which may be stored),
    an operator request is done whole or not at all: no ``index``, no ``accepted``.
    """

    status = 400
    # The most problems an answer lists, and the longest field name it repeats: a 64 KB
    # body of unknown fields must not come back as a megabyte of answer.
    LISTED = 50
    LONGEST_NAME = 200

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.unlisted = max(0, len(problems) - self.LISTED)
        self.problems = tuple(
            FieldProblem(_cut(p.field, self.LONGEST_NAME), p.reason)
            for p in problems[: self.LISTED]
        )
        super().__init__(
            "; ".join(f"{p.field}: {p.reason}" for p in self.problems),
            field=self.problems[0].field if self.problems else None,
        )

    def details(self) -> dict[str, object]:
        """The first field at fault, every problem listed, and how many more there were."""
        shown = {**super().details(), "problems": [p.as_json() for p in self.problems]}
        return shown | {"unlisted": self.unlisted} if self.unlisted else shown


def _cut(text: str, longest: int) -> str:
    """``text``, or its first ``longest`` characters and an ellipsis."""
    return text if len(text) <= longest else text[:longest] + "…"


class Unauthenticated(InputError):
    """The request carries no credentials, or credentials no source accepts."""

    status = 401


class Forbidden(InputError):
    """The credentials are valid but their role does not allow this."""

    status = 403


class NotFound(InputError):
    """The thing the request names does not exist."""

    status = 404


class Conflict(InputError):
    """The request is valid, but the thing it names is not in a state that allows it."""

    status = 409


# The actions whose name is not a verb, as an InvalidTransition's message says them.
_ACTION_PHRASES = {
    "note": "add a note to",
    "priority": "change the priority of",
    "tasks": "add or complete tasks of",
}


class InvalidTransition(Conflict):
    """The incident's state does not allow the action; ``allowed`` lists what it does allow.

    The JSON body carries the state and the allowed actions, so a client can offer them.
    """

    def __init__(self, action: str, state: str, allowed: Sequence[str]) -> None:
        self.action = action
        self.state = state
        self.allowed = tuple(allowed)
        can = ", ".join(self.allowed) if self.allowed else "nothing (it is final)"
        doing = _ACTION_PHRASES.get(action, action)
        super().__init__(f"cannot {doing} an incident that is {state}; it allows: {can}")

    def details(self) -> dict[str, object]:
        """The incident's state and the actions it allows."""
        return {"state": self.state, "allowed": list(self.allowed)}


class PreconditionFailed(InputError):
    """The request's ``If-Match`` is not the current ETag: someone changed the thing first.

    The JSON body carries the current ``etag``, so a client can read it again and decide.
    """

    status = 412

    def __init__(self, message: str, etag: str) -> None:
        super().__init__(message, field="If-Match")
        self.etag = etag

    def details(self) -> dict[str, object]:
        """The header at fault and the current ETag."""
        return {**super().details(), "etag": self.etag}


class IdempotencyMismatch(InputError):
    """An ``Idempotency-Key`` already used with a different request (another body or path)."""

    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message, field="Idempotency-Key")


class RequestTimeout(InputError):
    """The client did not send its whole body within the deadline (a slow or stalled client)."""

    status = 408


class ClientDisconnected(InputError):
    """The client closed the connection before its body arrived; nobody reads the answer.

    499 is nginx's "client closed request": it shows in metrics, never on the wire.
    """

    status = 499


class PayloadTooLarge(InputError):
    """The request body is larger than the configured limit."""

    status = 413


class UnsupportedMedia(InputError):
    """The request body is not declared as JSON."""

    status = 415


class RateLimited(InputError):
    """The source sent more alerts than its rate limit allows; retry after ``retry_after`` s."""

    status = 429

    def __init__(self, source: str, retry_after: float, accepted: int | None = None) -> None:
        self.source = source
        self.retry_after = retry_after
        # Set when a batch larger than the burst had its first ``accepted`` alerts stored.
        self.accepted = accepted
        super().__init__(f"source {source!r} is over its rate limit")


class StoreError(TocsinError):
    """The store failed to do what was asked."""


class StoreUnavailable(StoreError):
    """The store is unreachable or busy; the same request may succeed later."""
