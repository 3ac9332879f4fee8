"""Small things a reader meets at /status/ (review 12 finding 11)."""

from __future__ import annotations

import gzip

from tests.statuspage.site.test_serve import Client, client
from tocsin.status_site import SITE_BUILDER

__all__ = ["client"]  # the fixture: the application with the test page, site built


async def test_history_without_slash_redirects_to_it(client: Client) -> None:
    response = await client.get("/status/history", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "history/"
    followed = await client.get("/status/history")
    assert followed.status == 200
    assert "history" in str(followed.url)


async def test_a_404_is_not_cached(client: Client) -> None:
    response = await client.get("/status/incidents/not-yet.html")
    assert response.status == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in response.headers


async def test_pages_are_gzipped_for_a_reader_that_takes_gzip(client: Client) -> None:
    plain = (client.app[SITE_BUILDER].out / "index.html").read_bytes()
    response = await client.get(
        "/status/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert gzip.decompress(await response.read()) == plain
    identity = await client.get("/status/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in identity.headers
    assert await identity.read() == plain


async def test_the_heading_does_not_say_status_twice(client: Client) -> None:
    # Before: a page named "Larkspur Books Status" was headed "... Status status".
    text = (client.app[SITE_BUILDER].out / "index.html").read_text()
    name = client.app[SITE_BUILDER]._rules().status_page.name
    expected = name if name.lower().endswith("status") else f"{name} status"
    assert f"<h1>{expected}</h1>" in text
    assert "Status status" not in text
