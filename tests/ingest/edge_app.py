"""An application on real SQLite with rules of the test's own, for the ingest-edge tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import START, Ingest
from tocsin.app import create_app

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


async def edge_app(
    tmp_path: Path,
    aiohttp_client: ClientFactory,
    rules: str,
    env: Mapping[str, str],
    **settings: object,
) -> Ingest:
    """Serves ``rules`` (credentials from ``env``) on a manual clock, without correlation."""
    (tmp_path / "rules.yml").write_text(rules)
    clock = ManualClock(START)
    registry = CollectorRegistry()
    values: dict[str, object] = {
        "rules": tmp_path / "rules.yml",
        "store": f"sqlite://{tmp_path / 'edge.db'}",
        "correlate": False,
        **settings,
    }
    app = create_app(
        Settings(**values),  # type: ignore[arg-type]
        clock=clock,
        registry=registry,
        env=env,
    )
    return Ingest(await aiohttp_client(app), clock, registry)
