"""What every correlation run needs: a fresh store, the bench rules, a real Correlator.

The store is an SQLite file in a temp dir, or a Redis store on a private ``redis-server``
started on a free loopback port with the same settings as bench/servers.py uses (AOF,
``appendfsync everysec``, no snapshots). The bench never uses a Redis already running.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry

from bench import servers
from core.clock import Clock
from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from correlate.engine import Correlator
from correlate.metrics import CorrelatorMetrics
from rules.correlation import Tuning
from rules.loader import load_rules
from rules.model import Rules

STORE_NAMES = ("sqlite", "redis")

# One incident per alertname and service. A route needs a policy and a policy needs
# people; nobody is paged, the correlator only records the policy's name.
RULES_YAML = """\
# Written by bench/correlator_harness.py.
channels:
  - name: hook
    webhook: {url: "https://hooks.example/bench"}
people:
  - name: oncall
    contacts: [{channel: hook, address: oncall}]
teams:
  - name: ops
    members: [oncall]
escalation_policies:
  - name: ops
    levels:
      - delay: 5m
        targets: [{team: ops}]
route:
  policy: ops
  group_by: [alertname, service]
  reopen_window: 1h
"""


def write_rules(workdir: Path) -> Rules:
    """Writes the bench rules into ``workdir`` and loads them with the strict loader."""
    path = workdir / "rules.yml"
    path.write_text(RULES_YAML)
    return load_rules(path, {})


def new_correlator(store: Store, rules: Rules, clock: Clock, member: str) -> Correlator:
    """A correlator with the default tuning and batch size, on its own metrics registry."""
    metrics = CorrelatorMetrics(CollectorRegistry())
    return Correlator(store, lambda: rules, Tuning(), clock, metrics, member=member)


@contextmanager
def fresh_store(name: str) -> Iterator[tuple[Store, Path]]:
    """Yields an unopened, empty store of backend ``name`` and a temp dir for the run."""
    with tempfile.TemporaryDirectory(prefix=f"tocsin-bench-correlation-{name}-") as tmp:
        workdir = Path(tmp)
        if name == "sqlite":
            yield SQLiteStore(workdir / "bench.db"), workdir
        elif name == "redis":
            with redis_server(workdir) as port:
                yield RedisStore(f"redis://127.0.0.1:{port}/0"), workdir
        else:
            raise ValueError(f"unknown store {name!r}; choose from {', '.join(STORE_NAMES)}")


@asynccontextmanager
async def opened(store: Store) -> AsyncIterator[Store]:
    """Opens the store for the block and closes it afterwards."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@contextmanager
def redis_server(workdir: Path) -> Iterator[int]:
    """Runs a private ``redis-server`` in ``workdir`` until the block ends; yields its port."""
    with servers.redis(workdir) as listening:
        yield listening.port
