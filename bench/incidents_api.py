"""``python -m bench incidents``: the incident list with 100,000 incidents, and acknowledge.

For each store (SQLite, Redis on a private ``redis-server``): the bench commits the same
100,000 incidents (bench/incidents_fill.py) straight into a fresh store, then starts
``tocsin serve`` on it with its correlator child, as deployed, and from this process,
one request after another on one connection:

- ``GET /api/v1/incidents?<filter>&limit=50`` ``--requests`` times per filter (the
  values rotate: another service, team, day ... each time), p50 and p99 in ms; before
  the server starts, the same queries' ``store.incident_page`` in this process ("store"
  columns: the index's cost without HTTP, rendering or another process's round trip);
- pages: ``state=closed&limit=50`` followed by its ``next`` links, 50 pages deep;
- acknowledge: ``POST /api/v1/incidents/{id}/acknowledge`` of as many triggered
  incidents while another process posts new alerts to ``/api/v2/alerts`` as fast as the
  server takes them (the correlator opening incidents meanwhile). If the server has no
  such route (404), the same transition is written straight to the store instead
  (core.lifecycle.apply and incident_change), and the row says so.

The goal (issue 10): p99 under 50 ms for every single filter, on both stores.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import multiprocessing.synchronize
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from multidict import MultiDict

from bench import servers
from bench.incidents_fill import QUERIES, fill
from bench.memory import RESULTS_FILE, _read_json, _say
from core.lifecycle import Actor, LifecyclePolicy, apply
from core.lifecycle_requests import Acknowledge
from core.store import Store, incident_change
from core.store.factory import store_from_url
from rules.api_keys import Role
from rules.priority import DEFAULT_PRIORITY
from tocsin.operator.incidents import parse_query

STORES = ("sqlite", "redis")
INCIDENTS = 100_000
REQUESTS = 200
PAGES = 50
ACKNOWLEDGEMENTS = 200
LOAD_BATCH = 100
GOAL_P99_MS = 50.0

_RULES_YAML = """\
# Written by bench/incidents_api.py.
sources:
  - name: bench
    kind: alertmanager_api
    auth:
      bearer_token: {env: TOCSIN_BENCH_TOKEN}
api_keys:
  - {name: bench, role: viewer, key: {env: TOCSIN_BENCH_TOKEN}}
  - {name: responder, role: responder, key: {env: TOCSIN_BENCH_RESPONDER}}
"""


@dataclass(slots=True)
class StoreResult:
    """One store's figures; ``error`` instead of some of them if a step failed."""

    store: str
    incidents: int
    fill_s: float = 0.0
    error: str | None = None
    # Per query name: (p50 ms, p99 ms, incidents in the last answer), over HTTP and of
    # the store's incident_page in this process.
    lists: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    store_pages: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    pages: tuple[float, float, int] = (0.0, 0.0, 0)
    acknowledge: tuple[float, float, int] = (0.0, 0.0, 0)
    acknowledge_via: str = "http"
    load_alerts_per_s: float = 0.0
    # The machine's 1-minute load average before and after the requests (2 cores here).
    load_average: tuple[float, float] = (0.0, 0.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the bench on each store; returns 0 if every store was measured."""
    args = _parser().parse_args(argv)
    results = []
    for name in args.stores or STORES:
        _say(f"incidents -> {name}: {args.incidents:,} incidents")
        results.append(measure(name, args.incidents, args.requests))
        if results[-1].error:
            _say(f"  FAILED: {results[-1].error}")
    print(render(results))
    report = {
        "finished_at": datetime.now(UTC).isoformat(),
        "results": [asdict(r) for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({**_read_json(args.output), "incidents": report}, indent=2))
    _say(f"merged incidents results into {args.output}")
    return 1 if any(r.error for r in results) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench incidents", description=__doc__)
    parser.add_argument("--incidents", type=int, default=INCIDENTS, help="incidents to store")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="GETs per filter")
    parser.add_argument("--stores", action="append", choices=STORES, help="store (repeatable)")
    parser.add_argument(
        "--output", type=Path, default=RESULTS_FILE, help="JSON file to merge the results into"
    )
    return parser


def measure(name: str, incidents: int, requests: int) -> StoreResult:
    """Fills a fresh store of backend ``name``, serves it, and times the requests."""
    result = StoreResult(name, incidents)
    viewer, responder = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    try:
        with tempfile.TemporaryDirectory(prefix=f"tocsin-bench-incidents-{name}-") as tmp:
            workdir = Path(tmp)
            with ExitStack() as stack:
                url = f"sqlite://{workdir / 'bench.db'}"
                if name == "redis":
                    port = stack.enter_context(servers.redis(workdir)).port
                    url = f"redis://127.0.0.1:{port}/0"
                started = time.perf_counter()
                asyncio.run(_fill(url, incidents))
                result.fill_s = time.perf_counter() - started
                _say(f"  filled in {result.fill_s:.0f} s")
                result.store_pages = asyncio.run(_time_store(url, requests))
                base = stack.enter_context(_serve(workdir, url, viewer, responder))
                before = os.getloadavg()[0]
                for query, build in QUERIES.items():
                    result.lists[query] = _time_list(base, viewer, build, requests)
                result.pages = _time_pages(base, viewer)
                _acknowledge(result, base, url, viewer, responder)
                result.load_average = (before, os.getloadavg()[0])
    except (servers.ServerError, RuntimeError, OSError) as exc:
        result.error = str(exc)
    return result


async def _fill(url: str, incidents: int) -> None:
    store = store_from_url(url)
    await store.open()
    try:
        await fill(store, incidents)
    finally:
        await store.close()


async def _time_store(url: str, requests: int) -> dict[str, tuple[float, float, int]]:
    """p50 and p99 (ms) of each query's ``incident_page`` on the store, in this process."""
    store = store_from_url(url)
    await store.open()
    figures = {}
    try:
        for name, build in QUERIES.items():
            times, shown = [], 0
            for i in range(requests + 5):
                params = MultiDict(parse_qsl(f"limit=50&{build(i)}", keep_blank_values=True))
                query = parse_query(params, DEFAULT_PRIORITY.matrix)
                started = time.perf_counter()
                page = await store.incident_page(query)
                if i >= 5:
                    times.append((time.perf_counter() - started) * 1000)
                shown = len(page.summaries)
            figures[name] = (*_percentiles(times), shown)
    finally:
        await store.close()
    return figures


@contextmanager
def _serve(workdir: Path, store: str, viewer: str, responder: str) -> Iterator[int]:
    """Runs ``tocsin serve`` with its correlator child on ``store``; yields its port."""
    rules = workdir / "rules.yml"
    rules.write_text(_RULES_YAML)
    port = servers.free_port()
    command = [
        sys.executable, "-m", "tocsin.cli", "serve",
        "--host", "127.0.0.1", "--port", str(port),
        "--rules", str(rules), "--store", store, "--log-level", "warning",
    ]  # fmt: skip
    env = {
        **os.environ,
        servers.AUTH_ENV_VARIABLE: viewer,
        "TOCSIN_BENCH_RESPONDER": responder,
        "TOCSIN_CORRELATE": "true",
        "TOCSIN_CORRELATOR_MODE": "process",
    }
    process = servers.ManagedProcess("tocsin", command, workdir / "tocsin.log", env)
    try:
        deadline = time.monotonic() + 120.0
        while _status(port, "/-/ready") != 200:
            if not process.alive() or time.monotonic() > deadline:
                raise servers.ServerError(f"tocsin did not get ready:\n{process.log_tail()}")
            time.sleep(0.1)
        yield port
    finally:
        process.stop()


def _status(port: int, path: str) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def _get(
    connection: http.client.HTTPConnection, path: str, key: str
) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"GET {path} got {response.status}: {body[:300]!r}")
    return elapsed, json.loads(body)


def _time_list(
    port: int, key: str, build: Callable[[int], str], requests: int
) -> tuple[float, float, int]:
    """p50 and p99 (ms) of ``requests`` list GETs, and the size of the last answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
    try:
        times, shown = [], 0
        for i in range(requests + 5):
            query = build(i)
            elapsed, body = _get(connection, f"/api/v1/incidents?limit=50&{query}", key)
            if i >= 5:  # the first few warm the connection and the caches
                times.append(elapsed)
            shown = len(body["incidents"])
    finally:
        connection.close()
    return (*_percentiles(times), shown)


def _time_pages(port: int, key: str) -> tuple[float, float, int]:
    """p50 and p99 (ms) of pages followed by their next links, and how many were read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
    times: list[float] = []
    try:
        path: str | None = "/api/v1/incidents?state=closed&limit=50"
        while path is not None and len(times) < PAGES:
            elapsed, body = _get(connection, path, key)
            times.append(elapsed)
            path = body["next"]
    finally:
        connection.close()
    return (*_percentiles(times), len(times))


def _acknowledge(result: StoreResult, port: int, url: str, viewer: str, responder: str) -> None:
    """Acknowledges triggered incidents one by one while another process posts alerts."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
    try:
        triggered = f"/api/v1/incidents?state=triggered&limit={ACKNOWLEDGEMENTS}"
        _, body = _get(connection, triggered, viewer)
    finally:
        connection.close()
    ids = [i["id"] for i in body["incidents"]]
    stop = multiprocessing.Event()
    posted: Any = multiprocessing.Value("q", 0)
    loader = multiprocessing.Process(target=_post_alerts, args=(port, viewer, stop, posted))
    loader.start()
    started = time.monotonic()
    try:
        time.sleep(1.0)  # the load running before the first acknowledgement
        times = _acknowledge_http(port, responder, ids)
        if times is None:
            result.acknowledge_via = "store (no HTTP route)"
            times = asyncio.run(_acknowledge_store(url, ids))
    finally:
        stop.set()
        loader.join(timeout=30)
    result.load_alerts_per_s = posted.value / (time.monotonic() - started)
    result.acknowledge = (*_percentiles(times), len(times))


def _acknowledge_http(port: int, key: str, ids: list[str]) -> list[float] | None:
    """Times each POST .../acknowledge; None if the server has no such route."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    times: list[float] = []
    try:
        for incident_id in ids:
            started = time.perf_counter()
            path = f"/api/v1/incidents/{incident_id}/acknowledge"
            connection.request("POST", path, body=b"{}", headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status in (404, 405) and not times:
                return None
            if response.status != 200:
                raise RuntimeError(f"POST {path} got {response.status}: {body[:300]!r}")
            times.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return times


async def _acknowledge_store(url: str, ids: list[str]) -> list[float]:
    """The acknowledgements as one store write each, from this process."""
    store: Store = store_from_url(url)
    await store.open()
    times = []
    actor = Actor("bench", Role.RESPONDER)
    try:
        for incident_id in ids:
            started = time.perf_counter()
            incident = await store.get_incident(incident_id)
            assert incident is not None
            done = apply(incident, Acknowledge(), actor, datetime.now(UTC), LifecyclePolicy())
            written = replace(done.incident, version=incident.version + 1)
            await store.commit(incident_change(written, done.event))
            times.append((time.perf_counter() - started) * 1000)
    finally:
        await store.close()
    return times


def _post_alerts(
    port: int, key: str, stop: multiprocessing.synchronize.Event, posted: Any
) -> None:
    """Posts batches of new alerts until ``stop``; counts them in ``posted``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    n = 0
    while not stop.is_set():
        now = datetime.now(UTC)
        ends = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        batch = [
            {
                "labels": {"alertname": f"Load{k % 20}", "instance": f"load-{n + k}"},
                "annotations": {"summary": "load"},
                "startsAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endsAt": ends,
            }
            for k in range(LOAD_BATCH)
        ]
        connection.request("POST", "/api/v2/alerts", body=json.dumps(batch), headers=headers)
        connection.getresponse().read()
        n += LOAD_BATCH
        with posted.get_lock():
            posted.value += LOAD_BATCH
    connection.close()


def _percentiles(times: list[float]) -> tuple[float, float]:
    if not times:
        return (0.0, 0.0)
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (statistics.median(ordered), p99)


def render(results: Sequence[StoreResult]) -> str:
    """The table: per query, p50 / p99 ms on each store, and the acknowledge row."""
    names = [r.store for r in results]
    header = f"{'GET /api/v1/incidents?limit=50&':<34}" + "".join(
        f"{n + ' p50':>13}{n + ' p99':>13}{'store p50':>11}{'p99':>9}{'shown':>7}"
        for n in names
    )
    lines = ["", f"incidents: {results[0].incidents:,} stored (goal p99 < {GOAL_P99_MS:g} ms)"]
    lines += [header, "-" * len(header)]
    rows: dict[str, list[tuple[float, float, float, float, int]]] = {}
    for r in results:
        for query, (p50, p99, shown) in r.lists.items():
            own = r.store_pages.get(query, (0.0, 0.0, 0))
            rows.setdefault(query, []).append((p50, p99, own[0], own[1], shown))
        rows.setdefault("pages of state=closed (next)", []).append((*r.pages[:2], 0, 0, r.pages[2]))
        ack = r.acknowledge
        rows.setdefault("POST acknowledge under load", []).append((*ack[:2], 0, 0, ack[2]))
    for query, row in rows.items():
        lines.append(
            f"{query:<34}"
            + "".join(
                f"{p50:>10.1f} ms{p99:>10.1f} ms{own50:>8.1f} ms{own99:>6.1f} ms{shown:>7}"
                for p50, p99, own50, own99, shown in row
            )
        )
    for r in results:
        lines.append(
            f"{r.store}: filled in {r.fill_s:.0f} s; acknowledge via {r.acknowledge_via}, "
            f"while {r.load_alerts_per_s:,.0f} alerts/s were posted; load average "
            f"{r.load_average[0]:.1f} before, {r.load_average[1]:.1f} after"
            + (f"; ERROR {r.error}" if r.error else "")
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
