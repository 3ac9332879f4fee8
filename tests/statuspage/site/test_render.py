"""The rendered site: its files, the front page's content, incident pages, history, feeds."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from xml.etree import ElementTree as ET

from statuspage.model import ComponentHistory, ComponentStatus, PublicIncidentStatus, PublicUpdate
from statuspage.site import render_site
from tests.statuspage.site.sample import NOW, snapshot

EXPECTED_FILES = {
    "index.html",
    "badge.svg",
    "style.css",
    "uptime/api.html",
    "uptime/web.html",
    "uptime/email.html",
    "uptime/sms.html",
    "history.atom",
    "history.rss",
    "history/index.html",
    "history/2026-12.html",
    "history/2026-10.html",
    "incidents/inc-open.html",
    "incidents/inc-old.html",
    "api/v2/summary.json",
    "api/v2/status.json",
    "api/v2/components.json",
    "api/v2/incidents.json",
    "api/v2/incidents/unresolved.json",
    "api/v2/scheduled-maintenances.json",
    "api/v2/scheduled-maintenances/upcoming.json",
    "api/v2/scheduled-maintenances/active.json",
}


def text_of(html: bytes) -> str:
    """The page's text without tags and with whitespace collapsed (what a reader sees)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())


def test_site_has_every_page_json_feed_and_badge() -> None:
    assert set(render_site(snapshot())) == EXPECTED_FILES


def test_front_page_shows_banner_zone_uptime_definition_and_sections() -> None:
    page = text_of(render_site(snapshot())["index.html"])
    for expected in (
        "Partial System Outage",  # the overall banner, in words
        "Europe/Paris (UTC+01:00)",  # the page's zone
        "a partial outage as 30% down",  # the uptime definition
        "Active incidents",
        "Elevated API errors",
        "Upcoming maintenance",
        "Database upgrade",
        "99.95% uptime (90 days), 99.90% (30 days)",
    ):
        assert expected in page, expected


def test_front_page_lists_groups_and_components_in_rules_order_hiding_only_if_degraded() -> None:
    page = text_of(render_site(snapshot())["index.html"])
    order = [
        page.index(name)
        for name in ("Core services", "API for", "Website for", "Email delivery for")
    ]
    assert order == sorted(order)
    assert "SMS" not in page  # only_show_if_degraded and operational


def test_only_show_if_degraded_component_appears_when_degraded() -> None:
    snap = snapshot()
    sms = replace(snap.components[3], status=ComponentStatus.MAJOR_OUTAGE)
    snap = replace(snap, components=(*snap.components[:3], sms))
    assert "SMS" in text_of(render_site(snap)["index.html"])


def test_component_status_is_a_word_and_an_icon_not_only_colour() -> None:
    html = render_site(snapshot())["index.html"].decode()
    assert '<span class="st s-partial_outage"><span aria-hidden="true">' in html
    assert "Partial outage</span>" in html


def test_every_showcased_component_has_a_90_day_bar_with_a_text_per_day() -> None:
    html = render_site(snapshot())["index.html"].decode()
    bars = re.findall(r'<ol class="bar" aria-label="([^"]+)">(.*?)</ol>', html)
    assert [label for label, _ in bars] == [
        "API, last 90 days",
        "Website, last 90 days",
        "Email delivery, last 90 days",
    ]
    for _, bar in bars:
        segments = re.findall(r'<li(?: class=(?:"([^"]+)"|(\S+)))?>([^<]*)', bar)
        widths = [
            int(next((c[1:] for c in (a or b).split() if c.startswith("w")), 1))
            for a, b, _ in segments
        ]
        assert sum(widths) == 90
        # Every segment names its day(s) and uptime.
        assert all(re.match(r"\d+ \w{3}(\u2013\d+( \w{3})?)?: ", text) for _, _, text in segments)
    api = bars[0][1]
    # Today's segment names the date, its uptime and its number of incidents.
    assert "<li class=l2>2 Dec: 95.00%, 1 incident" in api
    # The component's name links to its day-by-day page, which names the incidents.
    assert '<a href="uptime/api.html">API</a>' in html


def test_day_by_day_page_names_each_days_uptime_downtime_and_incidents() -> None:
    page = render_site(snapshot())["uptime/api.html"].decode()
    today = page[page.index('<tr id="d2026-12-02">') :].split("</tr>")[0]
    assert "95.00%" in today
    assert "Major outage 1 h 12 min" in today
    assert '<a href="../incidents/inc-open.html"><bdi>Elevated API errors</bdi></a>' in today
    assert page.count("<tr id=") == 90


def test_front_page_of_a_big_page_stays_under_100_kb() -> None:
    # The bench's page: 50 components, 10,000 incidents, about 820 in the bars' 90 days.
    from bench.statuspage import make_snapshot

    site = render_site(make_snapshot(50, 10_000))
    assert len(site["index.html"]) < 100_000
    assert site["index.html"].count(b'<ol class="bar"') == 50


def test_incident_page_shows_the_whole_timeline_newest_first() -> None:
    page = text_of(render_site(snapshot())["incidents/inc-open.html"])
    first = page.index("The cause is identified")
    middle = page.index("Some requests fail")
    last = page.index("We are investigating elevated errors")
    assert first < middle < last
    assert "API: Operational to Partial outage" in page


def test_history_is_paged_by_month_with_links_between_months() -> None:
    site = render_site(snapshot())
    index = site["history/index.html"].decode()
    assert 'href="2026-12.html">December 2026</a>' in index
    assert 'href="2026-10.html">October 2026</a>' in index
    december = site["history/2026-12.html"].decode()
    assert "Elevated API errors" in december
    assert "Slow logins" not in december
    assert 'href="2026-10.html">Older: October 2026</a>' in december


def test_feeds_parse_and_list_incidents_newest_first() -> None:
    site = render_site(snapshot())
    atom = ET.fromstring(site["history.atom"])  # noqa: S314 (our own output)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in atom.findall("a:entry", ns)]
    assert titles == ["Elevated API errors", "Slow logins"]
    rss = ET.fromstring(site["history.rss"])  # noqa: S314 (our own output)
    assert [i.findtext("title") for i in rss.iter("item")] == titles


def test_badge_is_svg_naming_the_status_in_words() -> None:
    svg = ET.fromstring(render_site(snapshot())["badge.svg"])  # noqa: S314 (our own output)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("aria-label") == "status: Partial System Outage"


def test_front_page_inlines_its_css_and_has_no_script() -> None:
    html = render_site(snapshot())["index.html"].decode()
    assert "<style>" in html
    assert "<script" not in html
    assert 'rel="stylesheet"' not in html


def test_other_pages_share_one_stylesheet() -> None:
    site = render_site(snapshot())
    assert b".bar{" in site["style.css"]
    for path in ("incidents/inc-old.html", "history/index.html", "uptime/api.html"):
        html = site[path].decode()
        assert '<link rel="stylesheet" href="../style.css">' in html
        assert "<style>" not in html


def test_one_incident_update_re_renders_only_what_it_changes() -> None:
    before = snapshot()
    first = render_site(before)
    open_incident = before.incidents[0]
    update = PublicUpdate(
        "inc-open-u9",
        PublicIncidentStatus.MONITORING,
        "A fix is deployed.",
        NOW + timedelta(minutes=5),
        NOW + timedelta(minutes=5),
    )
    changed = replace(
        open_incident,
        status=PublicIncidentStatus.MONITORING,
        updates=(update, *open_incident.updates),
    )
    after = replace(
        before,
        page=replace(before.page, generated_at=NOW + timedelta(minutes=5)),
        incidents=(changed, *before.incidents[1:]),
    )
    second = render_site(after, first)
    differing = {path for path in second if second[path] != first[path]}
    # The old incident's page and its month are the very same bytes object: reused.
    assert second["incidents/inc-old.html"] is first["incidents/inc-old.html"]
    assert second["history/2026-10.html"] is first["history/2026-10.html"]
    assert "incidents/inc-open.html" in differing
    assert "history/2026-12.html" in differing
    assert not differing & {"incidents/inc-old.html", "history/2026-10.html", "history/index.html"}
    # Reusing pages changes nothing: the same bytes as rendering from scratch.
    assert dict(second) == dict(render_site(after))


def test_a_day_whose_uptime_reads_the_same_reuses_its_bar_and_page() -> None:
    # Today's uptime moves with each minute observed; the site re-renders a component's
    # bar and day-by-day page only when what they show changes (2 decimals), else every
    # build re-rendered every component with downtime today.
    before = snapshot()
    first = render_site(before)
    api = before.histories[0]
    assert api.component_id == "api"

    def moved(uptime: float) -> ComponentHistory:
        return replace(api, days=(*api.days[:-1], replace(api.days[-1], uptime=uptime)))

    same = replace(before, histories=(moved(0.9500001), *before.histories[1:]))
    second = render_site(same, first)
    assert second["uptime/api.html"] is first["uptime/api.html"]
    assert dict(second) == dict(render_site(same))
    lower = replace(before, histories=(moved(0.93), *before.histories[1:]))
    third = render_site(lower, second)
    assert "93.00%" in third["uptime/api.html"].decode()
    assert "93.00%" in third["index.html"].decode()
