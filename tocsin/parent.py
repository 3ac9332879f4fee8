"""Ties a child process's life to its parent's, so no orphan keeps correlating."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> bool:
    """Asks the kernel for SIGTERM when the parent dies; returns False if it already has.

    Linux only (prctl); elsewhere only the check against ``parent_pid`` is made. The
    check comes after the request, so a parent that died in between is still noticed.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name is not None:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        prctl = getattr(libc, "prctl", None)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    return os.getppid() == parent_pid
