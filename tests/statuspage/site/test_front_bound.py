"""The front page and summary.json stay small however long timelines grow (review 12).

Before: one open incident with 100 updates made index.html 1,021,147 bytes and
summary.json 1,034,841 bytes; the front page carried every open incident's whole timeline.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson

from statuspage.model import PublicIncidentStatus, StatusSnapshot
from statuspage.site import render_site
from statuspage.site.pages import FRONT_ACTIVE, FRONT_UPDATES
from tests.statuspage.site.sample import NOW, incident, snapshot

LIMIT = 100_000


def _busy(open_incidents: int, updates: int) -> StatusSnapshot:
    """The sample page with open incidents of ``updates`` updates of 10,000 characters."""
    bodies = tuple(f"update {n}: " + "x" * 9_990 for n in range(updates))
    many = tuple(
        incident(
            f"busy-{k}",
            f"Busy incident {k}",
            NOW - timedelta(minutes=k),
            status=PublicIncidentStatus.INVESTIGATING,
            bodies=bodies,
        )
        for k in range(open_incidents)
    )
    base = snapshot()
    return replace(base, incidents=(*many, *base.incidents))


def test_an_incident_with_100_long_updates_keeps_the_front_page_small() -> None:
    site = render_site(_busy(1, 100))
    front = site["index.html"]
    assert len(front) < LIMIT
    assert len(site["api/v2/summary.json"]) < LIMIT
    text = front.decode()
    assert "update 99:" in text  # the newest
    assert f"update {99 - FRONT_UPDATES}:" not in text
    assert f"{100 - FRONT_UPDATES} earlier updates" in text
    assert 'href="incidents/busy-0.html"' in text
    # Its own page and the full JSON keep the whole timeline.
    assert b"update 0:" in site["incidents/busy-0.html"]
    unresolved = orjson.loads(site["api/v2/incidents/unresolved.json"])
    assert len(unresolved["incidents"][0]["incident_updates"]) == 100


def test_many_open_incidents_keep_the_front_page_small() -> None:
    site = render_site(_busy(3 * FRONT_ACTIVE, 4))
    front = site["index.html"].decode()
    assert len(site["index.html"]) < LIMIT
    shown = sum(f'id="inc-busy-{k}"' in front for k in range(3 * FRONT_ACTIVE))
    assert shown == FRONT_ACTIVE
    # The sample's own open incident is one more.
    assert f"{2 * FRONT_ACTIVE + 1} more active incidents" in front


def test_rss_escapes_the_channel_as_it_escapes_items_and_dates_by_content() -> None:
    # Before: channel title and description were escaped once, item titles twice; and
    # lastBuildDate was the build's time, so every build changed the feed.
    from xml.etree import ElementTree as ET

    base = snapshot()
    page = replace(base.page, name="A<b>&Co")
    named = replace(base, page=page)
    rss = ET.fromstring(render_site(named)["history.rss"])  # noqa: S314 (our own output)
    channel = rss.find("channel")
    assert channel is not None
    assert channel.findtext("title") == "A&lt;b&gt;&amp;Co incident history"
    assert channel.findtext("description") == "Incidents of A&lt;b&gt;&amp;Co, newest first"
    later = replace(named, page=replace(page, generated_at=page.generated_at + timedelta(hours=1)))
    assert render_site(later)["history.rss"] == render_site(named)["history.rss"]


def test_a_rebuild_with_nothing_new_changes_only_the_front_page() -> None:
    # Before: page.updated_at in every JSON document was the build's time, so each
    # rebuild rewrote nine files (the front page keeps its "generated at" line).
    base = snapshot()
    later = replace(
        base, page=replace(base.page, generated_at=base.page.generated_at + timedelta(minutes=1))
    )
    first, second = render_site(base), render_site(later)
    assert [path for path in first if first[path] != second[path]] == ["index.html"]


def test_a_rules_window_keeps_its_times_all_day(tmp_path: Path) -> None:
    # Before: an upcoming window's created_at and "Scheduled" update were the build's now.
    from statuspage.maintenance import window_maintenances
    from tests.rules.helpers import load_text
    from tests.statuspage.test_maintenance import KEY, WINDOWS

    rules = load_text(tmp_path, WINDOWS)
    now = NOW.replace(hour=9)
    first = window_maintenances(rules.maintenance_windows, rules.status_page, now, KEY)
    later = window_maintenances(
        rules.maintenance_windows, rules.status_page, now + timedelta(hours=3), KEY
    )
    assert first
    assert first == later
