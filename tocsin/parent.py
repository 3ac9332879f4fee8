"""Ties a child process's life to its parent's, so no orphan keeps correlating.

The parent's death reaches the child as SIGTERM (PR_SET_PDEATHSIG), and so does the
parent's stop; either must end the child promptly, even in the middle of a long step
(a storm incident read at start-up once kept a child alive for more than 7 s after its
parent was killed). :func:`exit_promptly_on_sigterm` bounds the graceful stop: the
child's commits are atomic, so one cut short is only done again by the next child.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from types import FrameType

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


# How long a child's graceful stop may take after SIGTERM before it exits anyway.
STOP_GRACE_SECONDS = 1.0


def exit_promptly_on_sigterm(grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """Makes SIGTERM end the process within ``grace_seconds``, however busy it is.

    Call it from the main thread once the event loop's own SIGTERM handler is set (an
    application's startup): that handler starts the graceful stop through the loop's
    wakeup fd, which this leaves in place. The Python-level handler set here runs in the
    main thread between bytecodes, even while a long step keeps the loop from its
    callbacks, and starts a timer thread that exits the process once the grace is over.
    """

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if any(t.name == _DEADLINE_THREAD for t in threading.enumerate()):
            return  # a second SIGTERM: the first one's deadline stands
        timer = threading.Timer(grace_seconds, _exit_now)
        timer.name = _DEADLINE_THREAD
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)


_DEADLINE_THREAD = "tocsin-stop-deadline"


def _exit_now() -> None:
    # os._exit: no cleanup may wait on the step that held the graceful stop up.
    sys.stderr.write("tocsin: the graceful stop took too long after SIGTERM; exiting now\n")
    sys.stderr.flush()
    os._exit(1)
