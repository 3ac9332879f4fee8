"""GET /api/v2/status and /api/v2/receivers."""

from __future__ import annotations

from datetime import timedelta

from tests.amapi.harness import VIEWER, AmApi, at


async def test_status_reports_the_api_version_and_tocsins(amapi: AmApi) -> None:
    response = await amapi.client.get("/api/v2/status", headers=VIEWER)
    assert response.status == 200
    status = await response.json()
    version = status["versionInfo"]
    # Karma wants 0.22 or later; this is the version whose API Tocsin answers.
    assert version["version"] == "0.25.0"
    assert version["revision"].startswith("tocsin-")
    assert set(version) == {
        "version", "revision", "branch", "buildUser", "buildDate", "goVersion"
    }  # fmt: skip
    assert status["uptime"] == at(timedelta(0))
    # The rules files in force, in place of Alertmanager's configuration.
    assert "node-down-mutes-disk" in status["config"]["original"]
    cluster = status["cluster"]
    assert cluster["status"] == "ready"
    [peer] = cluster["peers"]  # one process on SQLite
    assert cluster["name"] == peer["name"]
    assert peer["address"].startswith("127.0.0.1:")


async def test_receivers_are_policies_and_routes_without_one(amapi: AmApi) -> None:
    response = await amapi.client.get("/api/v2/receivers", headers=VIEWER)
    assert await response.json() == [
        {"name": "db-oncall"},
        {"name": "{}"},
        {"name": "db-dashboards"},
    ]


async def test_status_needs_a_key(amapi: AmApi) -> None:
    for path in ["/api/v2/status", "/api/v2/receivers"]:
        response = await amapi.client.get(path)
        assert response.status == 401
        assert isinstance(await response.json(), str)


async def test_head_is_not_a_method_of_the_api(amapi: AmApi) -> None:
    # As Alertmanager: 405. A HEAD that ran the GET rendered 100,000 alerts for nothing.
    for path in [
        "/api/v2/alerts",
        "/api/v2/alerts/groups",
        "/api/v2/silences",
        "/api/v2/silence/00000000-0000-0000-0000-000000000000",
        "/api/v2/status",
        "/api/v2/receivers",
    ]:
        response = await amapi.client.head(path, headers=VIEWER)
        assert (path, response.status) == (path, 405)


async def test_a_base_url_with_a_trailing_slash_is_redirected(amapi: AmApi) -> None:
    # What a client that joins "http://host:port/" and "/api/v2/status" asks for.
    url = str(amapi.client.make_url("/")) + "/api/v2/status"
    session = amapi.client.session
    response = await session.get(url, headers=VIEWER, allow_redirects=False)
    assert response.status == 308
    assert response.headers["Location"] == "/api/v2/status"
    followed = await session.get(url, headers=VIEWER)
    assert followed.status == 200
    assert (await followed.json())["versionInfo"]["version"] == "0.25.0"
