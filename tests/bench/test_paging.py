"""The paging bench's own parts: its configs load as meant, its receiver counts right."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bench.paging_config import alertmanager_config, tocsin_rules
from bench.paging_receiver import Arrivals, application
from bench.paging_report import percentile
from rules.channels import WebhookConfig
from rules.loader import load_rules
from rules.policies import Target, TargetKind
from tests.support import require_binary

RECEIVER = "http://127.0.0.1:9"
Client = TestClient[web.Request, web.Application]


def test_tocsin_rules_page_the_receiver_per_alert_with_the_routes_waits(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(tocsin_rules(RECEIVER, 15))
    rules = load_rules(path, {"TOCSIN_BENCH_TOKEN": "x" * 32})
    root = rules.route
    assert root.group_wait == timedelta(0)
    assert root.group_by_all  # one incident per alert
    waits = {child.name: child.group_wait for child in root.routes}
    assert waits == {"bulk": timedelta(hours=1), "probe": timedelta(seconds=15)}
    config = rules.channels["bench-receiver"].config
    assert isinstance(config, WebhookConfig)
    assert config.url.value == RECEIVER + "/tocsin"
    # The channel itself is paged, and bundled past more than the bench ever sends.
    (level,) = rules.escalation_policies["bench"].levels
    assert level.targets == (Target(TargetKind.CHANNEL, "bench-receiver"),)
    assert rules.notifications.bundle.max == 100_000
    assert rules.notifications.bundle.window == timedelta(seconds=1)


def test_alertmanager_config_is_valid(tmp_path: Path) -> None:
    amtool = require_binary("amtool", "prometheus-alertmanager")
    path = tmp_path / "alertmanager.yml"
    path.write_text(alertmanager_config(RECEIVER, 15))
    done = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 receivers" in done.stdout


async def test_receiver_notes_the_first_arrival_of_each_id(
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    arrivals = Arrivals()
    client = await aiohttp_client(application(arrivals))
    page: dict[str, Any] = {"type": "incident.page", "incident": {"id": "i1", "title": "a-1"}}
    assert (await client.post("/tocsin", json=page)).status == 200
    assert (await client.post("/tocsin", json=page)).status == 200  # a retry: not first
    grouped = {"alerts": [{"labels": {"bench_id": "b-1"}}, {"labels": {"bench_id": "b-2"}}]}
    assert (await client.post("/alertmanager", json=grouped)).status == 200
    first_arrival = arrivals.first["a-1"]
    results = await (await client.get("/-/results")).json()
    assert set(results["first"]) == {"a-1", "b-1", "b-2"}
    assert results["first"]["a-1"] == first_arrival
    assert (results["notifications"], results["alerts"]) == (3, 4)
    assert await (await client.get("/-/count")).text() == "3"
    assert (await client.post("/-/reset")).status == 204
    assert await (await client.get("/-/count")).text() == "0"


def test_percentile_is_nearest_rank_with_lost_ones_last() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([*values[:98], math.inf, math.inf], 0.99) == math.inf
    assert percentile([], 0.5) == math.inf
