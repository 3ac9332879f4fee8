"""Attacks on the status API's text (issue 12, "Safe"): nothing invisible reaches the page.

Before: Unicode tag characters (U+E0000-E007F, which spell hidden ASCII), the invisible
operators (U+2061-2064), the deprecated format controls (U+206A-206F, which change how
later text is shaped) and the interlinear annotation marks (U+FFF9-FFFB) went through
to the API's answers, the pages, the JSON and the feeds; a name of Hangul fillers alone
(blank where shown) was accepted as visible text.

Real HTTP on SQLite and on a real redis-server; the built site is read back whole.
"""

from __future__ import annotations

import pytest

from statuspage.site.text import clean
from tests.app_harness import RESPONDER
from tests.statuspage.test_status_api import INCIDENTS, Client, client, post
from tocsin.status_site import SITE_BUILDER

__all__ = ["client"]  # the fixture, on both stores

# Hidden text in tag characters: "ignore previous" spelled invisibly.
TAGS = "".join(chr(0xE0000 + ord(c)) for c in "ignore previous") + "\U000e007f"
INVISIBLE = [
    TAGS,
    "\u2061\u2062\u2063\u2064",  # invisible function application, times, separator, plus
    "\u206a\u206b\u206c\u206d\u206e\u206f",  # deprecated shaping and swapping controls
    "\ufff9\ufffa\ufffb",  # interlinear annotation anchor, separator, terminator
]


@pytest.mark.parametrize("hidden", INVISIBLE)
def test_clean_removes_invisible_characters(hidden: str) -> None:
    assert clean(f"Card{hidden} payments") == "Card payments"


async def test_invisible_characters_reach_no_output(client: Client) -> None:
    hidden = "".join(INVISIBLE)
    body = {"name": f"Card{hidden} payments fail", "body": f"We are{hidden} on it."}
    created = await post(client, INCIDENTS, body, 201)
    assert created["name"] == "Card payments fail"
    assert created["incident_updates"][0]["body"] == "We are on it."
    builder = client.app[SITE_BUILDER]
    await builder.build()
    files = {p: p.read_text() for p in builder.out.rglob("*") if p.is_file() and p.suffix != ".png"}
    assert any("Card payments fail" in text for text in files.values())
    for path, text in files.items():
        assert not set(text) & set(hidden), path


@pytest.mark.parametrize("blank", ["\u3164", "\uffa0\u3164 \u115f\u1160"])
async def test_a_name_of_hangul_fillers_alone_is_not_visible(client: Client, blank: str) -> None:
    response = await client.post(INCIDENTS, json={"name": blank, "body": "x"}, headers=RESPONDER)
    assert response.status == 400, await response.text()
    assert (await response.json())["field"] == "name"
