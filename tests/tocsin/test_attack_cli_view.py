"""``tocsin incidents`` output: text from alerts and people never drives the terminal."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin.cli_incidents_view import answer_json, incident_text, incidents_table

# Text an alert's sender or a person controls, each with a character a terminal acts on.
HOSTILE = [
    # CSI: clears the screen and moves the cursor home.
    "\x1b[2J\x1b[Hall clear",
    # OSC: sets the window title (and, in some terminals, the clipboard).
    "\x1b]0;pwned\x07title",
    # The 8-bit CSI of C1.
    "\x9b31mred",
    # A bidi override that shows the rest of the line reversed.
    "\u202eevil",
    # DEL and backspace, which overwrite what was printed.
    "good\x08\x08\x08\x7fbad",
]


def _incident(text: str) -> dict[str, Any]:
    return {
        "id": "inc-1",
        "title": text,
        "state": "triggered",
        "resolution_notes": text,
        "tasks": [{"id": "1", "title": text, "completed_at": None}],
        "alerts": [{"status": "firing", "labels": {"alertname": text}}],
        "timeline": [{"at": "t", "actor": "ana", "kind": "note", "detail": {"text": text}}],
        "counts": {"alerts": 1, "firing": 1},
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_control_characters_are_shown_replaced_not_sent_to_the_terminal(text: str) -> None:
    shown = incidents_table([_incident(text)]) + incident_text(_incident(text), full=True)

    assert all(c.isprintable() or c == "\n" for c in shown), repr(shown)
    assert "\ufffd" in shown


@pytest.mark.parametrize("text", HOSTILE)
def test_json_output_escapes_what_a_terminal_acts_on(text: str) -> None:
    shown = answer_json(_incident(text))

    assert shown.isascii()
    assert all(c.isprintable() or c == "\n" for c in shown), repr(shown)
