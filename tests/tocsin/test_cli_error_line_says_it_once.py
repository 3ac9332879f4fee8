"""The CLI's refusal line says the server's reason once (found walking the README as a new user).

``tocsin incidents list --state firing`` printed
``HTTP 400: state: unknown state firing; use ... (state: unknown state firing; use ...)``
and a refused reopen ``...; it allows: nothing (it is final) allowed: none``.
"""

from __future__ import annotations

import pytest

from tocsin.cli_incidents import describe_error

REASON = "unknown state firing; use triggered, acknowledged, on_hold, resolved, closed, open"

# (status, the server's JSON answer, text that must appear exactly once in the line)
ANSWERS = [
    # One problem, whose field and reason the error message already is.
    (
        400,
        {
            "error": f"state: {REASON}",
            "field": "state",
            "problems": [{"field": "state", "reason": REASON}],
        },
        REASON,
    ),
    # A 409 whose message already lists what the state allows.
    (
        409,
        {
            "error": "cannot reopen an incident that is closed; it allows: nothing (it is final)",
            "state": "closed",
            "allowed": [],
        },
        "allow",
    ),
]


@pytest.mark.parametrize(("status", "answer", "once"), ANSWERS)
def test_the_refusal_line_says_the_reason_once(
    status: int, answer: dict[str, object], once: str
) -> None:
    assert describe_error(status, answer, "").count(once) == 1
