"""A small world for the escalation stage tests: a real store, rules, a clock, incidents.

Incidents change through real store commits, so the stage reads them from the real
incident event stream of SQLite or Redis (the ``store`` fixture runs each test on both).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from core.incident import Incident, IncidentEvent, IncidentState
from core.store import CorrelationCommit, GroupHead, Store, every_alert, incident_change
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from escalation.page import OUTBOX
from escalation.stage import EscalationStage
from escalation.state import COLLECTION, Escalation
from rules.channels import Channel, ChannelKind, WebhookConfig
from rules.credentials import Secret
from rules.model import Rules
from rules.people import ContactMethod, Person
from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind
from rules.routing import default_route
from tests.contract.builders import T0, make_incident

GROUP_WAIT = timedelta(seconds=30)
FAR = T0 + timedelta(days=365)


def policy(repeat: int = 0, ack_timeout: timedelta | None = None) -> EscalationPolicy:
    """Policy ``web``: ann at once, bob 5 minutes later (levels of 5m and 10m)."""
    return EscalationPolicy(
        "web",
        "",
        (
            EscalationLevel(timedelta(minutes=5), (Target(TargetKind.PERSON, "ann"),)),
            EscalationLevel(timedelta(minutes=10), (Target(TargetKind.PERSON, "bob"),)),
        ),
        repeat,
        ack_timeout,
    )


def make_rules(web: EscalationPolicy | None = None) -> Rules:
    """Rules with one webhook channel, people ann and bob, and policy ``web`` at the root."""
    hook = Channel(
        "hook",
        ChannelKind.WEBHOOK,
        WebhookConfig(Secret("http://127.0.0.1:1/", "env:HOOK"), None, timedelta(seconds=5)),
    )
    people = {
        name: Person(name, name.title(), (ContactMethod("hook", f"{name}@example.org"),))
        for name in ("ann", "bob")
    }
    return Rules(
        sources=(),
        channels={"hook": hook},
        people=people,
        escalation_policies={"web": web or policy()},
        route=replace(default_route(), group_wait=GROUP_WAIT, policy="web"),
    )


async def open_any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open store on an empty database, on each backend."""
    opened: Store
    if request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "tocsin.db")
    else:
        opened = RedisStore(request.getfixturevalue("redis_url"))
    await opened.open()
    yield opened
    await opened.close()


# The fixture ``store``: a test module imports ``any_store`` and takes ``store``.
any_store = pytest.fixture(
    open_any_store,
    name="store",
    params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)],
)


@dataclass
class World:
    """The store, the clock, the rules in force and the incidents as last written."""

    store: Store
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    rules: Rules = field(default_factory=make_rules)
    incidents: dict[str, Incident] = field(default_factory=dict)

    def stage(self, member: str = "m1") -> EscalationStage:
        """A stage member reading the rules in force (a reload replaces ``rules``)."""
        current: Callable[[], Rules] = lambda: self.rules  # noqa: E731
        return EscalationStage(self.store, current, self.clock, member)

    async def open(self, n: int = 1) -> str:
        """Opens incident ``n`` now, on the root route, with policy ``web``."""
        now = self.clock.now()
        incident = make_incident(n, opened_at=now, policy="web")
        opened = IncidentEvent(incident.id, now, "correlate", "opened", {"route": "{}"})
        await self.store.commit(
            CorrelationCommit(
                "test",
                incidents=(incident,),
                heads=(GroupHead(incident.group_key, None, incident.id),),
                events=(opened,),
                alerts=every_alert(incident),
            )
        )
        self.incidents[incident.id] = incident
        return incident.id

    async def change(self, incident_id: str, kind: str, **changes: Any) -> None:
        """Writes a change of the incident now, with a timeline event ``kind``."""
        now = self.clock.now()
        old = self.incidents[incident_id]
        new = replace(old, version=old.version + 1, **changes)
        event = IncidentEvent(incident_id, now, "ann", kind, {})
        await self.store.commit(incident_change(new, event))
        self.incidents[incident_id] = new

    async def acknowledge(self, incident_id: str) -> None:
        """Acknowledges the incident now."""
        await self.change(
            incident_id,
            "acknowledged",
            state=IncidentState.ACKNOWLEDGED,
            acknowledged_at=self.clock.now(),
            acknowledged_by="ann",
        )

    async def resolve(self, incident_id: str) -> None:
        """Resolves the incident now."""
        await self.change(incident_id, "resolved", state=IncidentState.RESOLVED)

    async def at(self, instant: datetime, stage: EscalationStage | None = None) -> None:
        """Moves the clock to ``instant`` and runs passes until nothing is left to do."""
        self.clock.set(instant)
        member = stage or self.stage()
        while await member.step():
            pass

    async def outbox(self) -> list[str]:
        """The keys of the outbox entries not yet delivered, sorted."""
        return sorted(key for key, _ in await self.store.due_documents(OUTBOX, FAR, 10_000))

    async def escalation(self, incident_id: str) -> Escalation:
        """The incident's escalation document as stored."""
        raw = await self.store.consumer_documents(COLLECTION, [incident_id])
        return Escalation.from_document(raw[incident_id])


def page(incident_id: str, generation: int, level: int, repeat: int, person: str) -> str:
    """The outbox key of a page of ``person`` on channel ``hook``."""
    return f"{incident_id}:{generation}:{level}:{repeat}:{person}:hook"


def t(seconds: float) -> datetime:
    """The instant ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)
