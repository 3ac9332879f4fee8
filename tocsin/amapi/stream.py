"""A JSON array answered piece by piece, so that a large one never holds the event loop.

The work is cut into slices of at most ``SLICE_SECONDS`` of CPU; after each, the loop
serves other requests (``asyncio.sleep(0)``) and the piece is written out, waiting for
the client to take it when its buffer is full. ``GET /api/v2/alerts`` with 100,000 open
alerts so costs a few hundred slices of a few milliseconds each (see bench/amapi.py).
A client that leaves before the end (a dashboard closed, ``curl -I``) ends the work
with a debug line: nobody reads the rest, and it is no server error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import structlog
from aiohttp import web

T = TypeVar("T")
SLICE_SECONDS = 0.005
# Items between looks at the clock: cheap enough to look, small enough to stop in time.
CHECK_EVERY = 64
# Members joined at once when all are sent (some 500 KB of alerts: well under a slice).
RUN = 1024

log = structlog.get_logger("tocsin.amapi")


class Slicer:
    """Tells a loop when its slice of CPU is over, so that it yields to the event loop."""

    def __init__(self, seconds: float = SLICE_SECONDS) -> None:
        self._seconds = seconds
        self._started = time.perf_counter()

    def over(self) -> bool:
        """Tells whether the slice is used up (and starts the next one if so)."""
        now = time.perf_counter()
        if now - self._started < self._seconds:
            return False
        self._started = now
        return True

    async def pause(self) -> None:
        """Lets the event loop run, then starts a new slice."""
        await asyncio.sleep(0)
        self._started = time.perf_counter()


async def stream_members(
    request: web.Request, members: Sequence[bytes], slicer: Slicer
) -> web.StreamResponse:
    """Answers 200 with the JSON array of ``members`` (JSON texts), every one of them."""
    runs = (members[start : start + RUN] for start in range(0, len(members), RUN))
    return await stream_runs(request, runs, slicer)


async def stream_runs(
    request: web.Request, runs: Iterable[Sequence[bytes]], slicer: Slicer
) -> web.StreamResponse:
    """Answers 200 with the JSON array of the runs' members (JSON texts), run after run.

    Each run is joined in one call, with no Python step per member: 100,000 alerts take
    some 6 ms of CPU to join so, rather than 17 one by one. A run (of :data:`RUN`
    members, or of what a filter kept of them) must take well under a slice to make.
    Every check that could fail must be done before: once the first piece is sent, the
    status is 200.
    """
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    with _until_the_client_leaves(request):
        await response.prepare(request)
        separator = b"["
        for run in runs:
            if run:
                await response.write(separator)
                await response.write(b",".join(run))
                separator = b","
            if slicer.over():
                await slicer.pause()
        await response.write(b"[]" if separator == b"[" else b"]")
        await response.write_eof()
    return response


async def stream_groups(
    request: web.Request,
    groups: Iterable[T],
    head: Callable[[T], bytes],
    members: Callable[[T], Iterable[bytes | None]],
    slicer: Slicer,
) -> web.StreamResponse:
    """Answers 200 with a JSON array of groups, each ``head`` and its ``"alerts"`` array.

    A group's alerts are sent slice by slice too (a storm incident is one group of
    100,000); a group none of whose members is shown (None) is left out, as Alertmanager
    leaves out a group whose alerts a filter hides all.
    """
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    with _until_the_client_leaves(request):
        await response.prepare(request)
        array = _GroupArray(response)
        for group in groups:
            batch: list[bytes] = []
            for count, member in enumerate(members(group), start=1):
                if member is not None:
                    batch.append(member)
                if count % CHECK_EVERY == 0 and slicer.over():
                    await array.write_members(group, head, batch)
                    batch = []
                    await slicer.pause()
            await array.write_members(group, head, batch)
            await array.end_group()
        await array.end()
        await response.write_eof()
    return response


class _GroupArray:
    """The JSON array of groups as it is written: a group opens at its first shown member."""

    def __init__(self, response: web.StreamResponse) -> None:
        self._response = response
        self._groups = 0
        self._open = False

    async def write_members(
        self, group: T, head: Callable[[T], bytes], members: Sequence[bytes]
    ) -> None:
        """Writes shown members of ``group``, opening it (its head) before the first."""
        if not members:
            return
        if self._open:
            prefix = b","
        else:
            prefix = (b"," if self._groups else b"[") + head(group) + b',"alerts":['
            self._open = True
            self._groups += 1
        await self._response.write(prefix + b",".join(members))

    async def end_group(self) -> None:
        """Closes the group being written, if any of its members was shown."""
        if self._open:
            await self._response.write(b"]}")
            self._open = False

    async def end(self) -> None:
        """Closes the array (``[]`` if no group was shown)."""
        await self._response.write(b"]" if self._groups else b"[]")


@contextmanager
def _until_the_client_leaves(request: web.Request) -> Iterator[None]:
    """Ends an answer quietly when its client has closed the connection."""
    try:
        yield
    except ConnectionError as exc:
        # aiohttp's "Cannot write to closing transport" and "Connection lost" both are.
        log.debug("client left mid-answer", path=request.path, error=str(exc))
