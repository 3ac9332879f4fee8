"""Where a page's time goes in Tocsin on Redis: one figure per hop, from the store's records.

With the Redis store every hop leaves a time behind (key layout: core/store/redis_scripts.py):
the alert log's and the incident event stream's entry IDs are the Redis server's clock in
milliseconds when each was appended, and each outbox entry holds ``send_at`` (the
escalation stage's clock when its pass began) and its attempts' ``at`` (the delivery
pass's clock). With the bench's own readings (sent, accepted, arrived: monotonic, turned
into wall-clock time by one offset), per page:

- ``ingest``: request sent -> alert appended to the log;
- ``correlate``: appended -> the incident's ``opened`` event committed by the correlator;
- ``escalate``: committed -> the escalation stage's pass that decided the page began;
- ``deliver``: that pass began -> the delivery pass that sent it began;
- ``send``: that delivery pass began -> the receiver got the page (HTTP and the receiver);
- ``total``: accepted (2xx) -> arrived, the bench's figure.

The clocks are the same machine's wall clock, read at different moments of each pass, so
a hop can read a millisecond or two below zero; their sum is not exactly ``total``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
import redis

from bench.paging_report import percentile
from bench.servers import command_line

PREFIX = "tocsin:"
HOPS = ("ingest", "correlate", "escalate", "deliver", "send", "total")
# A bench id (``r0-17``) after its label name, in JSON or in a group key alike.
_BENCH_ID = re.compile(rb"bench_id[^A-Za-z0-9]{1,6}([A-Za-z0-9]+-[0-9]+)")


def redis_port(pid: int) -> int:
    """The port of a running redis-server, from its process title (``... 127.0.0.1:PORT``)."""
    title = " ".join(command_line(pid))
    match = re.search(r":(\d+)\b", title)
    if match is None:
        raise RuntimeError(f"no port in redis-server's title {title!r}")
    return int(match.group(1))


def breakdown(
    port: int,
    sent: Mapping[str, float],
    accepted: Mapping[str, float],
    arrived: Mapping[str, float],
    offset: float,
) -> dict[str, dict[str, float]]:
    """p50, p90 and p99 (ms) of each hop, over the pages found at every hop.

    ``sent``, ``accepted``, ``arrived``: bench id -> monotonic seconds; ``offset`` turns
    them into wall-clock seconds.
    """
    client = redis.Redis(port=port)
    try:
        logged = _first_times(client.xrange(PREFIX + "alerts"), _alert_ids)
        opened = _first_times(client.xrange(PREFIX + "incident-events"), _opened_ids)
        outbox = {
            entry["title"]: entry
            for entry in (orjson.loads(raw) for raw in client.hvals(PREFIX + "consumer:outbox"))
        }
    finally:
        client.close()
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for bench_id, at in accepted.items():
        entry = outbox.get(bench_id)
        if bench_id not in arrived or bench_id not in logged or bench_id not in opened:
            continue
        if entry is None or not entry["results"]:
            continue
        decided = entry["send_at"] / 1e6
        attempted = entry["results"][0]["at"] / 1e6
        seconds = {
            "ingest": logged[bench_id] - (sent[bench_id] + offset),
            "correlate": opened[bench_id] - logged[bench_id],
            "escalate": decided - opened[bench_id],
            "deliver": attempted - decided,
            "send": arrived[bench_id] + offset - attempted,
            "total": arrived[bench_id] - at,
        }
        for hop, value in seconds.items():
            hops[hop].append(value * 1000)
    return {
        hop: {
            "pages": float(len(values)),
            "p50": percentile(values, 0.5),
            "p90": percentile(values, 0.9),
            "p99": percentile(values, 0.99),
        }
        for hop, values in hops.items()
    }


def _first_times(entries: Any, ids: Any) -> dict[str, float]:
    """Bench id -> the time (s) of the first stream entry naming it."""
    times: dict[str, float] = {}
    for entry_id, fields in entries:
        at = int(entry_id.split(b"-")[0]) / 1000
        for bench_id in ids(fields):
            times.setdefault(bench_id, at)
    return times


def _alert_ids(fields: Mapping[bytes, bytes]) -> list[str]:
    return [m.group(1).decode() for v in fields.values() for m in _BENCH_ID.finditer(v)]


def _opened_ids(fields: Mapping[bytes, bytes]) -> list[str]:
    event = orjson.loads(fields[b"event"])
    if event.get("kind") != "opened":
        return []
    key = str(event.get("detail", {}).get("group_key", "")).encode()
    return [m.group(1).decode() for m in _BENCH_ID.finditer(key)]


def render(target: str, rate: float, figures: Mapping[str, Mapping[str, float]]) -> str:
    """One line per hop."""
    pages = int(figures["total"]["pages"])
    lines = [f"\nwhere the time went: {target} at {rate:g}/s ({pages} pages found at every hop)"]
    for hop in HOPS:
        f = figures[hop]
        lines.append(
            f"  {hop:<10} p50 {f['p50']:>9.1f} ms   p90 {f['p90']:>9.1f} ms   "
            f"p99 {f['p99']:>9.1f} ms"
        )
    return "\n".join(lines)
