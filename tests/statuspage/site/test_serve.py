"""/status/ in ``tocsin serve``: the built site, a strict CSP, 404 for anything outside it,
and a rebuild when the status page's writer reports a change or the page's day turns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from statuspage.writer import Changes
from tests.app_harness import ENV, RESPONDER, RULES
from tests.support import poll_until
from tocsin.app import create_app
from tocsin.keys import CLOCK, STORE
from tocsin.keys import RULES as RULES_KEY
from tocsin.status_site import CSP, SITE_BUILDER, SiteBuilder
from tocsin.statuspage_task import StatusPageTask

Client = TestClient  # type: ignore[type-arg]
PAGE_RULES = RULES + (Path(__file__).parents[1] / "rules.yml").read_text()
# 23:50 in Europe/Berlin (the test page's zone), ten minutes before its day turns.
LATE = datetime(2026, 11, 27, 22, 50, tzinfo=UTC)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Client:
    """The application (no correlator) with the test page, its site in tmp_path/site."""
    rules = tmp_path / "status.yml"
    rules.write_text(PAGE_RULES)
    settings = make_settings(correlate=False, rules=rules)
    env = {**ENV, "TOCSIN_STATUS_DIR": str(tmp_path / "site")}
    app = create_app(settings, clock=ManualClock(LATE), registry=CollectorRegistry(), env=env)
    test_client = await aiohttp_client(app)
    await app[SITE_BUILDER].build()
    return test_client


# (path, content type): one case per kind of file the site holds.
SERVED = [
    ("/status/", "text/html; charset=utf-8"),
    ("/status/index.html", "text/html; charset=utf-8"),
    ("/status/history/index.html", "text/html; charset=utf-8"),
    ("/status/api/v2/summary.json", "application/json"),
    ("/status/history.atom", "application/atom+xml; charset=utf-8"),
    ("/status/history.rss", "application/rss+xml; charset=utf-8"),
    ("/status/badge.svg", "image/svg+xml"),
    ("/status/style.css", "text/css; charset=utf-8"),
]


@pytest.mark.parametrize(("path", "content_type"), SERVED)
async def test_site_is_served_with_its_content_type_and_a_strict_csp(
    client: Client, path: str, content_type: str
) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_csp_allows_no_script_and_only_inline_or_own_styles() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert directives["img-src"] == "'self' data:"
    assert "script-src" not in directives


# Each path tries to leave the site or reach a file that is not a page.
OUTSIDE = [
    "/status/../tocsin.db",  # normalised by the client: outside /status/
    "/status/%2e%2e/tocsin.db",  # encoded dot-dot
    "/status/history/%2e%2e/%2e%2e/tocsin.db",  # dot-dot deeper down
    "/status/..%2ftocsin.db",  # encoded slash
    "/status/%2fetc%2fpasswd",  # absolute path
    "/status/.tocsin-site",  # the writer's manifest (a dot file)
    "/status/incidents/",  # a directory without an index
    "/status/nothing.html",  # a missing file
    "/status/..%5ctocsin.db",  # a backslash
]


@pytest.mark.parametrize("path", OUTSIDE)
async def test_paths_outside_the_site_are_404(client: Client, path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 404


async def test_status_without_slash_redirects_to_the_site(client: Client) -> None:
    response = await client.get("/status", allow_redirects=False)
    # Temporary, and relative: behind a prefix (/tocsin/status) it stays under it.
    assert response.status == 302
    assert response.headers["Location"] == "status/"
    followed = await client.get("/status")
    assert "Example Status" in await followed.text()


async def test_the_json_api_may_be_read_from_any_origin(client: Client) -> None:
    # Statuspage's API answers any origin; widgets on other sites read it.
    headers = {"Origin": "https://example.org"}
    response = await client.get("/status/api/v2/status.json", headers=headers)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    page = await client.get("/status/index.html", headers=headers)
    assert "Access-Control-Allow-Origin" not in page.headers


async def test_status_site_needs_no_key(client: Client) -> None:
    response = await client.get("/status/index.html")
    assert "Example Status" in await response.text()


async def test_writer_changes_and_the_day_boundary_ask_for_a_build(client: Client) -> None:
    app = client.app
    builder = app[SITE_BUILDER]
    task = StatusPageTask(app)
    clock = app[CLOCK]
    assert isinstance(clock, ManualClock)
    await task.tick()  # the first step: everything (the page's day is new to the task)
    first = builder.requested
    assert first >= 1
    await task.tick()  # nothing changed, same day
    assert builder.requested == first
    clock.advance(timedelta(minutes=15))  # 00:05 in Berlin: every bar moves by a day
    await task.tick()
    assert builder.requested == first + 1


async def test_builder_folds_a_burst_of_changes_into_one_build(
    client: Client, tmp_path: Path
) -> None:
    app = client.app
    builder = SiteBuilder(
        lambda: app[STORE],
        lambda: app[RULES_KEY].current.rules,
        app[CLOCK],
        tmp_path / "other",
        debounce_seconds=0,
    )
    running = asyncio.create_task(builder.run())
    try:
        for _ in range(3):
            await builder.changed(Changes(everything=True))

        async def built() -> int | None:
            return builder.builds or None

        assert await poll_until(built, 10) == 1
        assert (tmp_path / "other" / "index.html").exists()
    finally:
        running.cancel()


@pytest.mark.redis
async def test_two_replicas_on_one_redis_both_serve_the_current_site(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    redis_url: str,
    tmp_path: Path,
) -> None:
    # Before, only the replica whose writer held the lease rebuilt its site: the other
    # served the page as it was when it started.
    rules = tmp_path / "status.yml"
    rules.write_text(PAGE_RULES)
    settings = make_settings(correlate=False, rules=rules, store=redis_url)
    clock = ManualClock(LATE)
    replicas = []
    for n in range(2):
        env = {**ENV, "TOCSIN_STATUS_DIR": str(tmp_path / f"site{n}")}
        app = create_app(settings, clock=clock, registry=CollectorRegistry(), env=env)
        replicas.append(await aiohttp_client(app))
    tasks = [StatusPageTask(r.app) for r in replicas]
    for task in tasks:
        await task.tick()
    for replica in replicas:
        await replica.app[SITE_BUILDER].build()  # the page as it is: read whole
    full_reads = [r.app[SITE_BUILDER].live.full_reads for r in replicas]
    created = await replicas[0].post(
        "/api/v1/status/incidents",
        json={"name": "Slow search", "body": "Looking into it.", "components": ["search"]},
        headers=RESPONDER,
    )
    assert created.status in (201, 202), await created.text()
    public_id = (await created.json())["id"]
    for task in tasks:
        await task.tick()
    for replica in replicas:
        await replica.app[SITE_BUILDER].build()
        unresolved = await replica.get("/status/api/v2/incidents/unresolved.json")
        ids = [i["id"] for i in (await unresolved.json())["incidents"]]
        assert ids == [public_id]
        page = await (await replica.get("/status/")).text()
        assert "Looking into it." in page
    # Each learnt what changed from the page's change log, not by reading everything.
    assert [r.app[SITE_BUILDER].live.full_reads for r in replicas] == full_reads
