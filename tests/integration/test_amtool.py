"""Debian's amtool (Alertmanager 0.25) works against Tocsin as against an Alertmanager.

It adds alerts through the write side, queries them with matchers, ``--silenced`` and
``--inhibited``, and adds, queries, updates, expires and imports silences; every answer
agrees with what ``/api/v1`` says about the same incidents and silences. Reads use a
viewer key as a bearer token (``--http.config.file``), silences a responder key as the
password of basic auth in the URL, as an operator would configure amtool.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.fingerprint import labels_fingerprint
from tests.server_process import PROM_PASSWORD, PROM_USER, StartTocsin, TocsinProcess
from tests.support import poll_until, require_binary

pytestmark = pytest.mark.peers

VIEWER_KEY = "itest-viewer-key"
RESPONDER_KEY = "itest-responder-key"
DEADLINE_SECONDS = 20.0

_RULES = """\
sources:
  - name: prometheus
    kind: alertmanager_api
    auth:
      basic: {username: prometheus, password: {env: ITEST_PROM_PASSWORD}}
api_keys:
  - {name: wallboard, role: viewer, key: {file: viewer-key}}
  - {name: ana, role: responder, key: {file: responder-key}}
inhibit_rules:
  - name: node-down-mutes-disk
    source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname="DiskFull"']
    equal: [instance]
"""

NODE_DOWN = {"alertname": "NodeDown", "instance": "db1:9100"}
DISK_FULL = {"alertname": "DiskFull", "instance": "db1:9100"}
LATENCY = {"alertname": "HighLatency", "instance": "web1:9100"}
BACKUP = {"alertname": "BackupFailed", "instance": "db2:9100"}


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    """Rules with the Prometheus source, a viewer and a responder key, an inhibit rule."""
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "viewer-key").write_text(VIEWER_KEY)
    (directory / "responder-key").write_text(RESPONDER_KEY)
    path = directory / "rules.yml"
    path.write_text(_RULES)
    return path


class Amtool:
    """Runs amtool against one Tocsin with the credentials each command needs."""

    def __init__(self, binary: str, tocsin: TocsinProcess, work_dir: Path) -> None:
        self.binary = binary
        self.tocsin = tocsin
        host = tocsin.url.removeprefix("http://")
        self.sender_url = f"http://{PROM_USER}:{PROM_PASSWORD}@{host}"
        self.responder_url = f"http://ana:{RESPONDER_KEY}@{host}"
        self.viewer_config = work_dir / "amtool-http.yml"
        self.viewer_config.write_text(
            f"authorization: {{type: Bearer, credentials: {VIEWER_KEY}}}\n"
        )

    async def run(self, *args: str, url: str | None = None, stdin: str | None = None) -> str:
        """Runs one amtool command; insists on exit status 0 and returns its output."""
        if url is None:
            head = [
                f"--alertmanager.url={self.tocsin.url}",
                f"--http.config.file={self.viewer_config}",
            ]
        else:
            head = [f"--alertmanager.url={url}"]
        argv = [self.binary, *head, *args]
        done = await asyncio.to_thread(
            subprocess.run, argv, input=stdin, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{argv}: {done.stderr}{done.stdout}"
        return done.stdout

    async def json(self, *args: str, url: str | None = None) -> Any:
        """Runs a query with ``-o json``."""
        return json.loads(await self.run("-o", "json", *args, url=url))

    async def add_alert(self, labels: dict[str, str]) -> None:
        """``amtool alert add``, with the Prometheus source's credentials."""
        await self.run(
            "alert", "add", *(f"{k}={v}" for k, v in labels.items()), url=self.sender_url
        )


@pytest.fixture
def amtool_binary() -> str:
    """Debian's amtool, from the prometheus-alertmanager package."""
    return require_binary("amtool", "prometheus-alertmanager")


async def v1(tocsin: TocsinProcess, path: str) -> Any:
    """GET an /api/v1 path with the viewer key."""
    headers = {"Authorization": f"Bearer {VIEWER_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(tocsin.url + path, headers=headers) as response,
    ):
        assert response.status == 200
        return await response.json()


async def v1_alerts(tocsin: TocsinProcess) -> dict[str, str | None]:
    """Each firing alert of the open incidents, by fingerprint, with why it is muted (v1)."""
    listed = await v1(tocsin, "/api/v1/incidents?state=triggered,acknowledged,on_hold")
    alerts: dict[str, str | None] = {}
    for incident in listed["incidents"]:
        detail = await v1(tocsin, f"/api/v1/incidents/{incident['id']}")
        for alert in detail["alerts"]:
            if alert["status"] == "firing":
                alerts[alert["fingerprint"]] = alert["muted_by"]
    return alerts


async def test_amtool_alerts_and_silences(
    start_tocsin: StartTocsin, amtool_binary: str, tmp_path: Path
) -> None:
    tocsin = await start_tocsin()
    await tocsin.wait_correlator()
    amtool = Amtool(amtool_binary, tocsin, tmp_path)

    # alert add: the write side, as Prometheus' credentials. NodeDown first, so that it
    # inhibits DiskFull when DiskFull arrives.
    await amtool.add_alert(NODE_DOWN)
    await amtool.add_alert(LATENCY)
    await amtool.add_alert(BACKUP)
    out = await amtool.run(
        "silence", "add", "alertname=HighLatency", "--comment=deploying", "--duration=1h",
        "--author=ana", url=amtool.responder_url,
    )  # fmt: skip
    silence_id = out.strip()
    await amtool.add_alert(DISK_FULL)

    async def all_four() -> list[Any] | None:
        shown = await amtool.json("alert", "query", "--active", "--silenced", "--inhibited")
        muted = sum(1 for a in shown if a["status"]["state"] == "suppressed")
        return shown if len(shown) == 4 and muted == 2 else None

    every = await poll_until(all_four, DEADLINE_SECONDS, interval=0.2)
    # The same alerts, and the same reasons, as /api/v1 has them.
    from_v1 = await v1_alerts(tocsin)
    assert {a["fingerprint"] for a in every} == set(from_v1)
    for alert in every:
        reason = from_v1[alert["fingerprint"]]
        ids = alert["status"]["silencedBy"] + alert["status"]["inhibitedBy"]
        assert (reason is None) == (ids == []), alert
        assert all(i in reason for i in ids), (ids, reason)

    # Without flags amtool shows the active ones only; with one, only those.
    active = await amtool.json("alert", "query")
    assert _names(active) == ["BackupFailed", "NodeDown"]
    [silenced] = await amtool.json("alert", "query", "--silenced")
    assert silenced["labels"]["alertname"] == "HighLatency"
    assert silenced["status"]["silencedBy"] == [silence_id]
    [inhibited] = await amtool.json("alert", "query", "--inhibited")
    assert inhibited["labels"]["alertname"] == "DiskFull"
    assert inhibited["status"]["inhibitedBy"] == [labels_fingerprint(NODE_DOWN)]
    # Matchers, as amtool passes them (filter parameters), RE2 semantics.
    matched = await amtool.json("alert", "query", "--active", "--inhibited", "instance=~db.*")
    assert _names(matched) == ["BackupFailed", "DiskFull", "NodeDown"]
    matched = await amtool.json("alert", "query", "alertname=~Backup.*", 'instance!="web1:9100"')
    assert _names(matched) == ["BackupFailed"]
    simple = await amtool.run("alert", "query", "--silenced")
    assert "HighLatency" in simple
    assert "NodeDown" not in simple

    # silence query agrees with /api/v1/silences.
    [queried] = await amtool.json("silence", "query")
    from_v1_silence = await v1(tocsin, f"/api/v1/silences/{silence_id}")
    assert queried["id"] == from_v1_silence["id"] == silence_id
    assert queried["comment"] == from_v1_silence["comment"] == "deploying"
    assert queried["createdBy"] == from_v1_silence["created_by"] == "ana"
    assert _same_instant(queried["endsAt"], from_v1_silence["ends_at"])
    assert from_v1_silence["matchers"] == ['alertname="HighLatency"']
    assert (await amtool.run("silence", "query", "-q", "alertname=HighLatency")).split() == [
        silence_id
    ]

    # silence update of the end and comment: the same silence.
    out = await amtool.run(
        "silence", "update", silence_id, "--duration=2h", "--comment=deploying slowly",
        url=amtool.responder_url,
    )  # fmt: skip
    updated = await v1(tocsin, f"/api/v1/silences/{silence_id}")
    assert updated["comment"] == "deploying slowly"
    assert updated["state"] == "active"
    assert _parse(updated["ends_at"]) > _parse(from_v1_silence["ends_at"])

    # silence update of the start of an active silence: the old one expires, a new id.
    later = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # (-o json: amtool 0.25's update -q prints a pointer instead of the id.)
    [replaced] = await amtool.json(
        "silence", "update", silence_id, f"--start={later}", url=amtool.responder_url
    )
    replacement = replaced["id"]
    assert replacement != silence_id
    assert (await v1(tocsin, f"/api/v1/silences/{silence_id}"))["state"] == "expired"
    assert (await v1(tocsin, f"/api/v1/silences/{replacement}"))["state"] == "pending"

    # The pending replacement does not mute: HighLatency is active again.
    async def unmuted() -> bool | None:
        shown = await amtool.json("alert", "query")
        return True if "HighLatency" in _names(shown) else None

    await poll_until(unmuted, DEADLINE_SECONDS, interval=0.2)

    # silence query -o json exports; import into a second Tocsin creates them there.
    await amtool.run(
        "silence", "add", "instance=~db.*", "--comment=maintenance", "--duration=1h",
        url=amtool.responder_url,
    )  # fmt: skip
    exported = await amtool.run("-o", "json", "silence", "query")
    exported_silences = json.loads(exported)
    assert len(exported_silences) == 2  # the pending replacement and the new one
    export_file = tmp_path / "silences.json"
    export_file.write_text(exported)
    other = await start_tocsin()
    other_amtool = Amtool(amtool_binary, other, tmp_path)
    imported = await other_amtool.run(
        "silence", "import", str(export_file), url=other_amtool.responder_url
    )
    assert len(imported.split()) == 2
    there = (await v1(other, "/api/v1/silences"))["silences"]
    assert sorted(s["comment"] for s in there) == ["deploying slowly", "maintenance"]
    # Importing the same file into the first Tocsin updates the silences in place.
    again = await amtool.run("silence", "import", str(export_file), url=amtool.responder_url)
    assert sorted(again.split()) == sorted(s["id"] for s in exported_silences)

    # silence expire: both APIs then say expired.
    ids = [s["id"] for s in exported_silences]
    await amtool.run("silence", "expire", *ids, url=amtool.responder_url)
    for expired in ids:
        assert (await v1(tocsin, f"/api/v1/silences/{expired}"))["state"] == "expired"
    assert await amtool.json("silence", "query") == []
    assert len(await amtool.json("silence", "query", "--expired")) == 3


def _names(alerts: list[Any]) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in alerts)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _same_instant(a: str, b: str) -> bool:
    return abs(_parse(a) - _parse(b)) < timedelta(milliseconds=1)
