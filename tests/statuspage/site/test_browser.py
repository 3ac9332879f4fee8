"""The built site in a real browser: Debian's chromium driven by Playwright.

Checks the rendered DOM (banner, component statuses, a 90-day bar per showcased
component, an incident's timeline), keyboard reach, the phone width, that the strict CSP
leaves the page styled, and axe-core's WCAG checks in light and dark themes and at
375 px. Screenshots are kept under the test's tmp path (``screenshots/``); with
TOCSIN_UPDATE_SCREENSHOT=1 the light front page also replaces docs/statuspage.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statuspage.site import render_site, write_site
from tests.statuspage.site.browser import serious_violations, static_server
from tests.statuspage.site.sample import snapshot
from tests.support import require_binary

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
DOCS_SCREENSHOT = Path(__file__).parents[3] / "docs" / "statuspage.png"


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample site, built and served with /status/'s headers."""
    root = tmp_path_factory.mktemp("site")
    write_site(root, render_site(snapshot()))
    with static_server(root) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium (Playwright's own browsers are never downloaded)."""
    executable = require_binary("chromium", "chromium")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where this test keeps its screenshots."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


def open_page(
    browser: Any, url: str, *, scheme: str = "light", width: int = 1280, **extra: Any
) -> Any:
    context = browser.new_context(
        color_scheme=scheme, viewport={"width": width, "height": 900}, **extra
    )
    page = context.new_page()
    page.goto(url)
    return page


def test_front_page_dom_shows_banner_statuses_and_a_bar_per_component(
    browser: Any, site_url: str
) -> None:
    page = open_page(browser, site_url + "index.html")
    assert page.inner_text("#overall").strip().endswith("Partial System Outage")
    names = page.locator(".comp .name").all_inner_texts()
    words = page.locator(".comp .st").all_inner_texts()
    statuses = dict(zip(names, (" ".join(w.split()) for w in words), strict=True))
    assert statuses == {
        "API": "◆ Partial outage",
        "Website": "✓ Operational",
        "Email delivery": "✓ Operational",
    }
    bars = page.locator("ol.bar")
    assert bars.count() == 3
    for n in range(3):
        bar = bars.nth(n)
        width = bar.bounding_box()["width"]
        segments = bar.locator(":scope > li")
        for i in range(segments.count()):
            segment = segments.nth(i)
            classes = (segment.get_attribute("class") or "").split()
            days = next((int(c[1:]) for c in classes if c.startswith("w")), 1)
            # Each segment is as wide as its days: the bar is 90 days wide.
            assert abs(segment.bounding_box()["width"] - width * days / 90) < 1
    # The day's text is in the DOM (for screen readers) but drawn outside its segment.
    today = bars.nth(0).locator(":scope > li").last
    assert today.text_content() == "2 Dec: 95.00%, 1 incident"
    box = today.bounding_box()
    assert today.evaluate(
        "(e, b) => { const r = document.createRange(); r.selectNodeContents(e);"
        " return r.getBoundingClientRect().right <= b.x; }",
        box,
    )
    page.context.close()


def test_incident_page_shows_its_update_timeline(browser: Any, site_url: str) -> None:
    page = open_page(browser, site_url + "incidents/inc-open.html")
    assert page.locator("h1").inner_text() == "Elevated API errors"
    entries = page.locator("ol.timeline > li")
    assert entries.count() == 3
    assert [entries.nth(i).locator("strong").inner_text() for i in range(3)] == [
        "Identified",
        "Investigating",
        "Investigating",
    ]
    page.context.close()


def test_strict_csp_blocks_nothing_the_page_needs(browser: Any, site_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(site_url + "index.html")
    colour = page.eval_on_selector("#overall", "e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(188, 76, 0)"  # the inline style applied: major banner
    assert refused == []
    context.close()


def test_keyboard_reaches_the_skip_link_and_each_components_day_by_day_page(
    browser: Any, site_url: str
) -> None:
    page = open_page(browser, site_url + "index.html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.getAttribute('href') || ''"))
    assert "uptime/api.html" in reached
    # The day-by-day page names the day's incident, as a link.
    page.goto(site_url + "uptime/api.html")
    row = page.locator("#d2026-12-02")
    assert "95.00%" in row.inner_text()
    assert row.locator('a[href="../incidents/inc-open.html"]').inner_text() == (
        "Elevated API errors"
    )
    page.context.close()


def test_front_page_fits_a_phone_without_sideways_scrolling(
    browser: Any, site_url: str, shots: Path
) -> None:
    page = open_page(browser, site_url + "index.html", width=375, is_mobile=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(shots / "front-375.png"), full_page=True)
    page.context.close()


# (page, theme, width): every page kind, both themes, desktop and phone for the front.
AXE_CASES = [
    ("index.html", "light", 1280),
    ("index.html", "dark", 1280),
    ("index.html", "light", 375),
    ("index.html", "dark", 375),
    ("incidents/inc-open.html", "light", 1280),
    ("incidents/inc-open.html", "dark", 375),
    ("history/index.html", "dark", 1280),
    ("history/2026-12.html", "light", 1280),
    ("uptime/api.html", "light", 1280),
    ("uptime/api.html", "dark", 375),
]


@pytest.mark.parametrize(("path", "scheme", "width"), AXE_CASES)
def test_axe_finds_no_serious_or_critical_violation(
    browser: Any, site_url: str, shots: Path, path: str, scheme: str, width: int
) -> None:
    # axe is injected as a script, which the page's CSP forbids: bypassed for axe only.
    page = open_page(browser, site_url + path, scheme=scheme, width=width, bypass_csp=True)
    name = f"{path.replace('/', '-').removesuffix('.html')}-{scheme}-{width}.png"
    page.screenshot(path=str(shots / name), full_page=True)
    if (path, scheme, width) == ("index.html", "light", 1280) and os.environ.get(
        "TOCSIN_UPDATE_SCREENSHOT"
    ) == "1":
        shutil.copyfile(shots / name, DOCS_SCREENSHOT)
    assert serious_violations(page) == []
    page.context.close()
