"""Helpers the test suites share: finding outside binaries, free ports, polling."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# CI sets this so that a test needing a missing binary fails instead of skipping.
REQUIRE_ENV = "TOCSIN_REQUIRE_ALL"


def require_binary(name: str, package: str) -> str:
    """Returns the path of ``name``; skips the test (fails in CI) when it is not installed."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} is not installed (Debian package {package})"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 forbids skipping")
    pytest.skip(reason)


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, deadline_seconds: float) -> None:
    """Blocks until something accepts connections on 127.0.0.1:port, or fails at the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {deadline_seconds}s")


async def poll_until(
    probe: Callable[[], Awaitable[T | None]], deadline_seconds: float, interval: float = 0.1
) -> T:
    """Calls ``probe`` until it returns something other than None, or fails at the deadline.

    Only for waiting on a real outside process (an Alertmanager flushing); Tocsin's own
    time logic is driven by an injected clock instead.
    """
    deadline = time.monotonic() + deadline_seconds
    while True:
        result = await probe()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {deadline_seconds}s")
        await asyncio.sleep(interval)
