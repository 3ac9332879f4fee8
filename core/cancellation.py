"""Ending a background loop whose cancellation a library turned into an error."""

from __future__ import annotations

import asyncio


def end_if_cancelled() -> None:
    """Raises ``CancelledError`` if the current task has been asked to cancel.

    A background loop catches errors so that one failed step does not end it for the
    process's life. But redis-py turns a ``CancelledError`` that arrives mid-reply into a
    connection error (which the store reports as ``StoreError``), and a timeout expiring as
    the cancel comes swallows it: the loop would then carry on for ever and hang the
    application's shutdown. Each such loop calls this after its ``except`` clauses.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
