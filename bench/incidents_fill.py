"""The 100,000 incidents of ``python -m bench incidents``, and the queries it times.

Incident n is built from n alone, so both stores hold the same ones: a quarter year of
incidents (one every 78 s), most closed or resolved as in a real store, spread over 100
services, 20 teams, 10 categories, 5 priorities and 200 people (60% unassigned). Each
has one alert. They go to the store in commits of 500, as the correlator writes.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from core.incident import Incident, IncidentAlert, IncidentState
from core.model import AlertStatus
from core.store import CorrelationCommit, GroupHead, Store, every_alert

START = datetime(2026, 9, 1, tzinfo=UTC)
SPACING = timedelta(seconds=78)
_COMMIT = 500

# Out of 100: closed 70, resolved 20, triggered 5, acknowledged 3, on hold 2.
_STATES = [
    *[IncidentState.CLOSED] * 70,
    *[IncidentState.RESOLVED] * 20,
    *[IncidentState.TRIGGERED] * 5,
    *[IncidentState.ACKNOWLEDGED] * 3,
    *[IncidentState.ON_HOLD] * 2,
]
# Out of 20: P1 1, P2 2, P3 5, P4 6, P5 6.
_PRIORITIES = ["P1"] + ["P2"] * 2 + ["P3"] * 5 + ["P4"] * 6 + ["P5"] * 6
_CATEGORIES = (
    "network", "database", "storage", "compute", "application",
    "security", "performance", "availability", "capacity", "dns",
)  # fmt: skip
_KINDS = (
    "High latency", "Error rate above SLO", "Disk almost full", "Host down",
    "Certificate expires soon", "Replication lag", "Queue backlog", "Pod crash looping",
    "Memory pressure", "Packet loss",
)  # fmt: skip


def incident(n: int) -> Incident:
    """Incident number ``n`` (from 0), with its one alert."""
    opened = START + n * SPACING
    # Seeded by n: the fields vary independently of one another, the same in each run.
    rng = random.Random(n)
    kind = rng.choice(_KINDS)
    service = f"svc-{rng.randrange(100):03d}"
    fingerprint = f"{n * 2654435761 % 2**64:016x}"
    alert = IncidentAlert(
        fingerprint=fingerprint,
        labels={"alertname": kind, "service": service, "instance": f"host-{n}"},
        status=AlertStatus.FIRING,
        first_seen=opened,
        last_seen=opened,
        count=1,
        position="0",
        starts_at=opened,
        first_received_at=opened,
        last_received_at=opened,
    )
    state = rng.choice(_STATES)
    assignee = None if rng.random() < 0.6 else f"person-{rng.randrange(200):03d}"
    return Incident(
        id=f"bench-{n:06d}",
        group_key=f'{{}}:{{instance="host-{n}"}}',
        title=f"{kind} on {service} host-{n}",
        state=state,
        opened_at=opened,
        alerts={fingerprint: alert},
        version=1,
        category=rng.choice(_CATEGORIES),
        service=service,
        priority=rng.choice(_PRIORITIES),
        team=f"team-{rng.randrange(20):02d}",
        assignee=assignee,
        acknowledged_at=opened if state is not IncidentState.TRIGGERED else None,
    )


async def fill(store: Store, count: int) -> None:
    """Commits incidents 0 .. count-1 in commits of 500."""
    numbers = iter(range(count))
    while batch := [incident(n) for n in itertools.islice(numbers, _COMMIT)]:
        await store.commit(
            CorrelationCommit(
                "bench",
                incidents=tuple(batch),
                heads=tuple(GroupHead(i.group_key, None, i.id) for i in batch),
                alerts=every_alert(*batch),
            )
        )


def _day(i: int) -> str:
    since = START + timedelta(days=1 + i % 80)
    until = since + timedelta(days=1)
    return f"since={_rfc3339(since)}&until={_rfc3339(until)}"


def _rfc3339(instant: datetime) -> str:
    return quote(instant.strftime("%Y-%m-%dT%H:%M:%SZ"))


# Each query by name: request i's query string (the values rotate, as users' do).
QUERIES: dict[str, Callable[[int], str]] = {
    "(none)": lambda i: "",
    "state=open": lambda i: "state=open",
    "state=closed": lambda i: "state=closed",
    "priority=P1": lambda i: "priority=P1",
    "service": lambda i: f"service=svc-{(i * 7) % 100:03d}",
    "team": lambda i: f"team=team-{i % 20:02d}",
    "category": lambda i: f"category={_CATEGORIES[i % 10]}",
    "assignee": lambda i: f"assignee=person-{i % 200:03d}",
    "since+until": _day,
    "q (common)": lambda i: "q=latency",
    # The service and host of one incident: a handful of matches, the whole walk.
    "q (rare)": lambda i: f"q={_rare(i)}",
    "team+state=open": lambda i: f"team=team-{i % 20:02d}&state=open",
}


def _rare(i: int) -> str:
    # "svc-042 host-12345": that incident's, and those of host-123450 .. on svc-042.
    return quote(incident((i * 487) % 100_000).title.split(" on ", 1)[1])
