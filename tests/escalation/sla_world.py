"""A world for the SLA stage tests: the escalation world's store, clock and incidents,
with rules that name an SLA escalation, and the SLA stage instead of the escalation one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from core.incident import IncidentEvent, IncidentState
from core.store import CorrelationCommit, GroupHead
from core.store.events import TimelineNote
from escalation.page import OUTBOX
from escalation.sla_stage import SlaStage
from escalation.sla_state import COLLECTION, SlaState
from rules.model import Rules
from rules.people import ContactMethod, Person, Team
from rules.policies import Target, TargetKind
from rules.sla_rules import SlaEscalation
from tests.contract.builders import make_incident
from tests.escalation.escalation_world import FAR, World, make_rules

# Default SLA (rules.priority.DEFAULT_SLA): P1 acknowledge 5m (warning at 3m45s),
# resolve 1h (warning at 45m); P3 acknowledge 1h (45m), resolve 8h (6h).


def sla_rules(escalation: SlaEscalation | None = None) -> Rules:
    """The escalation world's rules, plus: team ``web`` (ann) whose SLA escalation goes
    to team ``tier2`` (bob) and to manager ``boss``."""
    base = make_rules()
    boss = Person("boss", "Boss", (ContactMethod("hook", "boss@example.org"),))
    default = SlaEscalation(Target(TargetKind.TEAM, "tier2"), None, "boss")
    teams = {
        "web": Team("web", "Web", ("ann",), sla_escalation=escalation or default),
        "tier2": Team("tier2", "Tier 2", ("bob",)),
    }
    return replace(base, people={**base.people, "boss": boss}, teams=teams)


@dataclass
class SlaWorld(World):
    """The escalation world running the SLA stage; ``recorded`` holds the metrics calls."""

    recorded: list[tuple[str, str]] = field(default_factory=list)

    def observe(self, notes: Sequence[TimelineNote]) -> None:
        """Records (clock, kind) of each SLA note, as the metrics would count them."""
        self.recorded += [(n.detail["clock"], n.kind) for n in notes if n.kind.startswith("sla_")]

    def sla_stage(self, member: str = "m1") -> SlaStage:
        """A fresh stage member (a new instance: nothing kept in memory between them)."""
        current: Callable[[], Rules] = lambda: self.rules  # noqa: E731
        return SlaStage(
            self.store,
            current,
            self.clock,
            member,
            metrics=self,
        )

    async def open_with(self, n: int = 1, **changes: Any) -> str:
        """Opens incident ``n`` now (priority P1 unless ``changes`` say otherwise)."""
        now = self.clock.now()
        fields: dict[str, Any] = {"opened_at": now, "priority": "P1", **changes}
        incident = make_incident(n, **fields)
        opened = IncidentEvent(incident.id, now, "correlate", "opened", {"route": "{}"})
        await self.store.commit(
            CorrelationCommit(
                "test",
                incidents=(incident,),
                heads=(GroupHead(incident.group_key, None, incident.id),),
                events=(opened,),
            )
        )
        self.incidents[incident.id] = incident
        return incident.id

    async def hold(self, incident_id: str) -> None:
        """Puts the incident on hold now."""
        await self.change(incident_id, "on_hold", state=IncidentState.ON_HOLD)

    async def resume(self, incident_id: str, state: IncidentState) -> None:
        """Takes the incident off hold, back to ``state``."""
        await self.change(incident_id, "resumed", state=state)

    async def run_sla(self, stage: SlaStage | None = None) -> None:
        """Runs SLA passes now until nothing is left to do."""
        member = stage or self.sla_stage()
        while await member.step():
            pass

    async def sla_outbox(self) -> list[str]:
        """The keys of the SLA outbox entries, sorted."""
        return sorted(k for k, _ in await self.store.due_documents(OUTBOX, FAR, 10_000))

    async def sla(self, incident_id: str) -> SlaState:
        """The incident's SLA document as stored."""
        raw = await self.store.consumer_documents(COLLECTION, [incident_id])
        return SlaState.from_document(raw[incident_id])

    async def notes(self, incident_id: str) -> list[tuple[str, str, str]]:
        """The incident's SLA timeline notes as (kind, clock, threshold)."""
        events = await self.store.incident_events(incident_id)
        return [
            (e.kind, e.detail["clock"], e.detail["name"])
            for e in events
            if e.kind in ("sla_warning", "sla_breached")
        ]


def sla_key(
    incident_id: str, clock: str, priority: str, threshold: str, person: str, cycle: int = 1
) -> str:
    """The outbox key of an SLA page of ``person`` on channel ``hook``."""
    return f"{incident_id}:sla:{cycle}:{clock}:{priority}:{threshold}:{person}:hook"


def minutes(value: float) -> timedelta:
    """``value`` minutes."""
    return timedelta(minutes=value)
