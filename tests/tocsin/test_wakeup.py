"""The doorbells between the stages (tocsin.wakeup): rings are never lost, never block.

Real UNIX datagram sockets in a private directory, as between ``tocsin serve`` and its
correlator child. Waiting with a long timeout shows that a ring, not the timeout, ended
the wait: each wait below would otherwise last a minute, past the test's deadline.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tocsin.wakeup import Doorbell, Waiter

A_MINUTE = 60.0


async def _woken(waiter: Waiter) -> None:
    async with asyncio.timeout(10):
        await waiter.wait(A_MINUTE)


async def test_a_ring_before_the_wait_is_not_lost() -> None:
    bell = Doorbell()
    waiter = bell.waiter()
    bell.ring()  # while the stage was busy

    await _woken(waiter)


async def test_a_ring_is_taken_once() -> None:
    bell = Doorbell()
    waiter = bell.waiter()
    bell.ring()
    await _woken(waiter)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await waiter.wait(A_MINUTE)  # nothing rang since


async def test_every_waiter_hears_a_ring() -> None:
    bell = Doorbell()
    first, second = bell.waiter(), bell.waiter()
    bell.ring()

    await asyncio.gather(_woken(first), _woken(second))


async def test_another_process_rings_through_the_socket(tmp_path: Path) -> None:
    listening = Doorbell()
    waiter = listening.waiter()
    listening.listen(tmp_path / "wake.sock")
    ringing = Doorbell(peer=tmp_path / "wake.sock")
    try:
        ringing.ring()
        await _woken(waiter)
    finally:
        ringing.close()
        listening.close()
    assert not (tmp_path / "wake.sock").exists()  # closing removes the socket's file


async def test_a_ring_nobody_hears_neither_blocks_nor_raises(tmp_path: Path) -> None:
    bell = Doorbell(peer=tmp_path / "nobody.sock")
    for _ in range(10_000):  # far more than a socket buffer holds, had anyone listened
        bell.ring()
    bell.close()


async def test_a_flood_of_rings_still_wakes(tmp_path: Path) -> None:
    listening = Doorbell()
    waiter = listening.waiter()
    listening.listen(tmp_path / "wake.sock")
    ringing = Doorbell(peer=tmp_path / "wake.sock")
    try:
        for _ in range(10_000):  # the receiving buffer fills: extra rings are dropped
            ringing.ring()
        await _woken(waiter)
    finally:
        ringing.close()
        listening.close()
