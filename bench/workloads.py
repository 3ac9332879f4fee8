"""The two workloads, as Prometheus would send them, and the wrk Lua scripts that send them.

- ``resend``: 10,000 firing alerts, resent in batches of 64 with byte-identical bodies each
  round, as Prometheus resends firing alerts every ``resend-delay``. One warm-up round
  first, so the measured part is the steady state: every alert is already known.
- ``storm``: every alert is new. Each request carries 64 label sets never seen before
  (``instance`` holds a run nonce, the wrk thread id, a per-thread request counter and
  the position in the batch), generated inside Lua so wrk pays no I/O for them.

Both scripts share one Lua prelude that counts response status codes per thread and
prints a one-line JSON summary from ``done()`` (see bench/wrk.py).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

BATCH_SIZE = 64
RESEND_ALERTS = 10_000
INGEST_PATH = "/api/v2/alerts"
# Prometheus sets a firing alert's endsAt to 4 x resend-delay (1 m) after evaluation.
ENDS_AFTER = timedelta(minutes=4)
STORM_WARMUP_REQUESTS = 16
WORKLOAD_NAMES = ("resend", "storm")

ALERTNAMES = (
    "HostDown", "DiskFull", "HighLatency", "ErrorRateHigh", "MemoryPressure",
    "CPUThrottled", "CertificateExpiring", "QueueBacklog", "ReplicationLag", "PodCrashLoop",
    "TargetMissing", "NTPDrift", "InodesLow", "ConnectionsSaturated", "SlowQueries",
    "BackupMissing", "GCPauseLong", "ThreadPoolExhausted", "CacheHitRateLow", "OOMKilled",
)  # fmt: skip
_SERVICES = (
    "api", "web", "db", "cache", "queue", "search", "auth", "billing", "storage", "mail",
    "gateway", "scheduler",
)  # fmt: skip
_SEVERITIES = ("critical", "warning", "warning", "info")


@dataclass(frozen=True, slots=True)
class Workload:
    """One prepared workload: the wrk script, the warm-up bodies, and how to count alerts."""

    name: str
    summary: str
    script: Path
    warmup: tuple[bytes, ...]
    alerts_per_request: float


def prepare(name: str, workdir: Path, token: str, now: datetime) -> Workload:
    """Writes the files for workload ``name`` into ``workdir``; timestamps start at ``now``.

    Prepare each workload right before its run so ``endsAt`` stays in the future.
    """
    if name == "resend":
        return _prepare_resend(workdir, token, now)
    if name == "storm":
        return _prepare_storm(workdir, token, now)
    raise ValueError(f"unknown workload {name!r}; choose from {', '.join(WORKLOAD_NAMES)}")


def _prepare_resend(workdir: Path, token: str, now: datetime) -> Workload:
    alerts = [_alert(n, f"host-{n:05d}:9100", now) for n in range(RESEND_ALERTS)]
    bodies = [_body(alerts[i : i + BATCH_SIZE]) for i in range(0, len(alerts), BATCH_SIZE)]
    bodies_path = workdir / "resend-bodies.jsonl"
    bodies_path.write_bytes(b"\n".join(bodies) + b"\n")
    script = workdir / "resend.lua"
    script.write_text(
        _prelude(token) + _RESEND_LUA.replace("@BODIES@", _lua_string(str(bodies_path)))
    )
    return Workload(
        name="resend",
        summary=f"{RESEND_ALERTS} known alerts resent, {len(bodies)} identical bodies per round",
        script=script,
        warmup=tuple(bodies),
        alerts_per_request=RESEND_ALERTS / len(bodies),
    )


def _prepare_storm(workdir: Path, token: str, now: datetime) -> Workload:
    nonce = secrets.token_hex(4)
    # Each batch slot is one alert cut into pieces where the unique part goes (the
    # instance label, and the summary that quotes it); Lua joins them with the tag.
    marker = "@@UNIQUE@@"
    pieces = [
        _body([_alert(slot, f"storm-{nonce}-{marker}:9100", now)]).decode()[1:-1].split(marker)
        for slot in range(BATCH_SIZE)
    ]
    script = workdir / "storm.lua"
    script.write_text(
        _prelude(token)
        + _STORM_LUA.replace(
            "@PIECES@", "{\n" + "".join(f"  {_lua_list(p)},\n" for p in pieces) + "}"
        )
    )
    warmup = tuple(
        _body(
            [
                _alert(slot, f"storm-{nonce}-warmup-{request}-{slot}:9100", now)
                for slot in range(BATCH_SIZE)
            ]
        )
        for request in range(STORM_WARMUP_REQUESTS)
    )
    return Workload(
        name="storm",
        summary=f"every alert new: {BATCH_SIZE} unseen label sets per request",
        script=script,
        warmup=warmup,
        alerts_per_request=float(BATCH_SIZE),
    )


def _alert(n: int, instance: str, starts: datetime) -> dict[str, Any]:
    """Returns alert number ``n`` in the shape Prometheus POSTs (keys in its order)."""
    alertname = ALERTNAMES[n % len(ALERTNAMES)]
    service = _SERVICES[(n // len(ALERTNAMES)) % len(_SERVICES)]
    expr = f'{alertname.lower()}{{service="{service}"}} > 0'
    return {
        "annotations": {"summary": f"{alertname} on {instance} ({service})"},
        "endsAt": _timestamp(starts + ENDS_AFTER),
        "startsAt": _timestamp(starts),
        "generatorURL": f"http://prometheus.bench:9090/graph?g0.expr={quote_plus(expr)}&g0.tab=1",
        "labels": {
            "alertname": alertname,
            "instance": instance,
            "job": "node",
            "severity": _SEVERITIES[n % len(_SEVERITIES)],
            "service": service,
        },
    }


def _body(alerts: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps(list(alerts), separators=(",", ":")).encode()


def _timestamp(at: datetime) -> str:
    # Prometheus sends milliseconds: 2026-11-27T15:11:02.568Z.
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _lua_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _lua_list(items: Sequence[str]) -> str:
    return "{" + ", ".join(_lua_string(item) for item in items) + "}"


def _prelude(token: str) -> str:
    return _PRELUDE_LUA.replace("@PATH@", _lua_string(INGEST_PATH)).replace(
        "@AUTH@", _lua_string(f"Bearer {token}")
    )


# Shared by both scripts. wrk runs setup() and done() in the main Lua state and
# init()/request()/response() in one state per thread; done() collects each thread's
# status counts through thread:get(). Latencies are in microseconds.
_PRELUDE_LUA = r"""
wrk.method = "POST"
wrk.path = @PATH@
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = @AUTH@

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

statuses = {}

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses") or {}) do
      codes[code] = (codes[code] or 0) + count
    end
  end
  local status_parts = {}
  for code, count in pairs(codes) do
    status_parts[#status_parts + 1] = string.format('"%s":%d', code, count)
  end
  local percentile_parts = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    percentile_parts[#percentile_parts + 1] =
      string.format('"%s":%.0f', tostring(p), latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"min":%.0f,"max":%.0f,"mean":%.1f,"stdev":%.1f,"percentiles":{%s}},' ..
    '"status":{%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev,
    table.concat(percentile_parts, ","), table.concat(status_parts, ",")))
end
"""

# Each thread reads the pre-generated bodies, formats every request once, and cycles.
_RESEND_LUA = r"""
local prepared = {}
local position = 0

function init(args)
  for line in io.lines(@BODIES@) do
    if #line > 0 then
      prepared[#prepared + 1] = wrk.format(nil, nil, nil, line)
    end
  end
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end
"""

# Alert i of a request is PIECES[i] joined with "<thread>-<counter>-<i>": the instance
# label, and so the fingerprint, is new on every request of every thread.
_STORM_LUA = r"""
local pieces = @PIECES@
local counter = 0

function request()
  counter = counter + 1
  local tag = id .. "-" .. counter .. "-"
  local parts = {}
  for i = 1, #pieces do
    parts[i] = table.concat(pieces[i], tag .. i)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end
"""
