"""What both halves of the Redis store share: turning redis-py errors into Tocsin's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis import exceptions as redis_errors

from core.errors import StoreError, StoreUnavailable

# Reply codes that redis-py leaves as a plain ResponseError but that pass by themselves:
# a failing AOF/RDB write, a long-running script, too few replicas for min-replicas.
_TRANSIENT_REPLY_CODES = frozenset({"MISCONF", "BUSY", "NOREPLICAS"})

_TRANSIENT_ERRORS: tuple[type[redis_errors.RedisError], ...] = (
    redis_errors.ConnectionError,  # also BusyLoadingError and MaxConnectionsError
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,  # a failover demoted the server we talk to
    redis_errors.TryAgainError,
    redis_errors.ClusterDownError,
    redis_errors.OutOfMemoryError,
)


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turns redis-py errors raised inside the block into Tocsin's store errors."""
    try:
        yield
    except redis_errors.RedisError as exc:
        raise translate(exc, action) from exc


def translate(exc: redis_errors.RedisError, action: str) -> StoreError:
    """Returns the Tocsin error for a redis-py error: StoreUnavailable if retrying may help."""
    if isinstance(exc, redis_errors.AuthenticationError | redis_errors.AuthorizationError):
        # A ConnectionError subclass, but a wrong password does not fix itself.
        return StoreError(f"cannot {action}: Redis refused the credentials")
    code = str(exc).split(" ", 1)[0]
    if isinstance(exc, _TRANSIENT_ERRORS) or code in _TRANSIENT_REPLY_CODES:
        return StoreUnavailable(f"cannot {action}: Redis is unavailable: {exc}")
    return StoreError(f"cannot {action}: {exc}")


def text(value: bytes | str) -> str:
    """Returns a reply value as text (redis-py gives bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value
