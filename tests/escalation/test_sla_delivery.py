"""An SLA breach end to end on both stores: the SLA stage writes the pages, delivery sends
them through the webhook notifier to a real local receiver, each once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.clock import ManualClock
from core.store import Store
from escalation.delivery import OutboxDelivery
from escalation.webhook import WebhookNotifier
from escalation.webhook_http import WebhookClient
from rules.channels import ChannelKind
from tests.escalation.escalation_world import any_store
from tests.escalation.sla_world import SlaWorld, sla_rules
from tests.escalation.test_escalation_webhook import (
    BASE_URL,
    Receiver,
    Serve,
    hooked_world,
    started,
)

__all__ = ["any_store"]


async def test_a_breach_reaches_the_next_tier_and_the_manager_once(
    store: Store, aiohttp_server: Serve
) -> None:
    receiver = Receiver()
    url = await started(aiohttp_server, receiver)
    hooked = hooked_world(store, url)
    rules = replace(sla_rules(), channels=hooked.rules.channels)
    # The receiver checks signatures against the wall clock: start at the real time.
    w = SlaWorld(store, ManualClock(datetime.now(UTC).replace(microsecond=0)), rules=rules)
    start = w.clock.now()
    incident = await w.open_with()
    await w.run_sla()
    async with WebhookClient() as client:
        notifier = WebhookNotifier(client, w.clock, BASE_URL)
        delivery = OutboxDelivery(store, lambda: w.rules, w.clock, {ChannelKind.WEBHOOK: notifier})
        for minutes in (3.75, 5, 5, 6):
            w.clock.set(start + timedelta(minutes=minutes))
            await w.run_sla(w.sla_stage())
            while await delivery.step():
                pass
    assert receiver.rejected == 0
    breaches = sorted(
        p["page"]["person"] for p in receiver.verified if p["sla"]["threshold"] == "breach"
    )
    warnings = [p["page"]["person"] for p in receiver.verified if p["sla"]["threshold"] != "breach"]
    assert (warnings, breaches) == (["bob"], ["bob", "boss"])
    assert len(receiver.ids) == len(set(receiver.ids)) == 3
    first = receiver.verified[0]
    assert first["type"] == "incident.sla"
    assert first["incident"]["id"] == incident
    assert first["incident"]["title"] == (
        "SLA time to acknowledge P1 warning at 3m45s: High latency on web-1"
    )
    timeline = await store.incident_events(incident)
    assert [e.kind for e in timeline].count("delivery_succeeded") == 3
