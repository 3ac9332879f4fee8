"""Operator text is cleaned first, then checked (review 12 finding 8).

Before: a name of bidi overrides and a zero-width space, or a body of one NUL, passed the
"non-empty" check (201) and made an invisible link or an empty update; zero-width
characters and U+FEFF stayed; the JSON kept bidi and control characters.
"""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from core.errors import InvalidFields
from statuspage.commands import incident_command, update_command
from statuspage.model import Impact
from statuspage.site import render_site
from tests.statuspage.site.sample import NOW, incident, snapshot

INVISIBLE = ["\u202e\u202e\u200b", "\u0000", " \ufeff\u2060 ", "\u200c", "\u2066\u2069\t"]


@pytest.mark.parametrize("text", INVISIBLE)
def test_text_that_shows_nothing_is_refused(text: str) -> None:
    with pytest.raises(InvalidFields) as refused:
        incident_command({"name": text, "body": text}, set(), "p", "u", NOW)
    assert {p.field for p in refused.value.problems} == {"name", "body"}
    with pytest.raises(InvalidFields):
        update_command({"status": "identified", "body": text}, set(), "p", "u", NOW, Impact.MINOR)


def test_invisible_and_bidi_characters_are_removed_before_storing() -> None:
    raw = {"name": "\u202eSlow\u200b checkout\ufeff", "body": "\u2066Fixed\u0000 now.\u2069"}
    command = incident_command(raw, set(), "p", "u", NOW)
    assert command["fields"]["name"] == "Slow checkout"
    assert command["fields"]["body"] == "Fixed now."


def test_the_json_api_carries_no_bidi_or_control_character() -> None:
    hostile = incident("inc-bidi", "\u202eevil\u200b", NOW, bodies=("a\u2066b\u0007c\ufeff",))
    site = render_site(replace(snapshot(), incidents=(hostile,)))
    texts = [
        t
        for path, data in site.items()
        if path.startswith("api/")
        for t in _strings(orjson.loads(data))
    ]
    assert "evil" in texts
    assert "abc" in texts
    for bad in ("\u202e", "\u200b", "\u2066", "\u0007", "\ufeff"):
        assert not any(bad in t for t in texts), bad


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
