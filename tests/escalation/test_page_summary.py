"""A page carries its incident's summary, and every notifier's text shows it.

The defect: outbox entries carried only title, state, priority and service, so the
rules' notification text read "Priority P2, , service checkout; 0 alert(s)." on every
channel. Pages decided by the real stage on both stores are rendered here by each
notifier (webhook body, Slack blocks, e-mail text and HTML, Apprise text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest

from core.incident import Incident, IncidentAlert, IncidentEvent
from core.model import AlertStatus
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from core.timestamps import format_rfc3339
from escalation.apprise_notifier import AppriseNotifier
from escalation.email_message import compose
from escalation.page import OUTBOX
from escalation.page_summary import MAX_ANNOTATION, MAX_LABELS, MAX_VALUE, summary_fields
from escalation.slack import SlackNotifier
from escalation.stage import EscalationStage
from escalation.webhook import webhook_body
from rules.channels import (
    AppriseConfig,
    Channel,
    ChannelKind,
    SlackConfig,
    SmtpConfig,
    SmtpSecurity,
)
from rules.credentials import Secret
from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind
from rules.templates import NotificationTemplates, TemplateCompiler, TemplateKind
from tests.contract.builders import T0, make_incident
from tests.escalation.escalation_world import (
    FAR,
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
    t,
)
from tests.escalation.sla_world import SlaWorld, sla_rules

PUBLIC_URL = "http://tocsin.example"
HOSTILE = "<!channel> & <b>bold</b> <http://evil.example|click>"


def alert(n: int, status: AlertStatus, **labels: str) -> IncidentAlert:
    """Alert ``n`` of the incident, seen ``n`` seconds after T0."""
    return IncidentAlert(
        fingerprint=f"{n:016x}",
        labels={"alertname": "HighLatency", "instance": f"web-{n}", **labels},
        status=status,
        first_seen=T0 + timedelta(seconds=n),
        last_seen=T0 + timedelta(seconds=n),
        count=1,
        position=str(n),
        annotations={"summary": f"{HOSTILE} on web-{n}", "token": "s3cret"},
    )


def incident() -> Incident:
    """Three alerts sharing ``owner``, two firing, one resolved."""
    alerts = [
        alert(1, AlertStatus.FIRING, owner=HOSTILE),
        alert(2, AlertStatus.FIRING, owner=HOSTILE),
        alert(3, AlertStatus.RESOLVED, owner=HOSTILE),
    ]
    return make_incident(1, opened_at=T0, policy="web", alerts={a.fingerprint: a for a in alerts})


async def open_incident(world: World, opened: Incident) -> None:
    """Writes the incident as correlation does, with its ``opened`` event."""
    event = IncidentEvent(opened.id, world.clock.now(), "correlate", "opened", {"route": "{}"})
    await world.store.commit(
        CorrelationCommit(
            "test",
            incidents=(opened,),
            heads=(GroupHead(opened.group_key, None, opened.id),),
            events=(event,),
            alerts=every_alert(opened),
        )
    )
    world.incidents[opened.id] = opened


def both_at_once() -> EscalationPolicy:
    """Policy ``web``: ann and bob on its one level."""
    targets = (Target(TargetKind.PERSON, "ann"), Target(TargetKind.PERSON, "bob"))
    return EscalationPolicy("web", "", (EscalationLevel(timedelta(minutes=5), targets),), 0, None)


class CountingStore:
    """The store, counting incident reads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = 0

    async def get_incident(self, incident_id: str) -> Incident | None:
        self.reads += 1
        return await self.store.get_incident(incident_id)

    async def get_incidents(self, incident_ids: Sequence[str]) -> dict[str, Incident]:
        self.reads += 1
        return await self.store.get_incidents(incident_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def decided_entries(store: Store) -> tuple[list[dict[str, Any]], int]:
    """The outbox entries the real stage decides for the incident, and its incident reads."""
    world = World(store, rules=make_rules(both_at_once()))
    counting = CountingStore(store)
    rules: Callable[[], Any] = lambda: world.rules  # noqa: E731
    stage = EscalationStage(counting, rules, world.clock, "m1")
    await open_incident(world, incident())
    await world.at(t(0), stage)
    await world.at(t(30), stage)
    keys = [key for key, _ in await store.due_documents(OUTBOX, FAR, 100)]
    found = await store.consumer_documents(OUTBOX, keys)
    return [found[k] for k in sorted(found)], counting.reads


async def test_a_page_carries_the_incidents_summary_as_decided(store: Store) -> None:
    entries, reads = await decided_entries(store)
    assert [e["person"] for e in entries] == ["ann", "bob"]
    # One read for the title at the first event, one for both pages' summary.
    assert reads == 2
    entry = entries[0]
    assert entry["category"] == "performance"
    assert entry["team"] == "web"
    assert (entry["impact"], entry["urgency"]) == ("medium", "high")  # the matrix's names
    assert entry["opened_at"] == format_rfc3339(T0)
    assert (entry["alert_count"], entry["firing_count"]) == (3, 2)
    # The labels the firing alerts share; instance differs, so it is left out.
    assert entry["labels"] == {"alertname": "HighLatency", "owner": HOSTILE}
    # Only the templates' annotations (never e.g. a token), from the first firing alert.
    assert entry["annotations"] == {"summary": f"{HOSTILE} on web-1"}


async def test_incidents_opened_together_are_read_together(store: Store) -> None:
    # Issue 11: a storm's new incidents cost one read for their titles and one for their
    # pages' summaries, not one read per incident each time.
    world = World(store, rules=make_rules(both_at_once()))
    counting = CountingStore(store)
    stage = EscalationStage(counting, lambda: world.rules, world.clock, "m1")
    for n in (1, 2, 3):
        await open_incident(world, make_incident(n, opened_at=T0, policy="web"))
    await world.at(t(0), stage)
    await world.at(t(30), stage)
    keys = [key for key, _ in await store.due_documents(OUTBOX, FAR, 100)]
    entries = (await store.consumer_documents(OUTBOX, keys)).values()
    assert sorted((e["incident"], e["person"]) for e in entries) == [
        (f"inc-{n:04d}", person) for n in (1, 2, 3) for person in ("ann", "bob")
    ]
    assert {e["category"] for e in entries} == {"performance"}  # each has its summary
    assert counting.reads == 2


async def test_the_webhook_body_says_category_and_counts(store: Store) -> None:
    [entry, _], _ = await decided_entries(store)
    body = webhook_body(entry, PUBLIC_URL)["incident"]
    assert body["category"] == "performance"
    assert (body["alert_count"], body["firing_count"]) == (3, 2)
    assert body["labels"]["owner"] == HOSTILE
    assert body["annotations"] == {"summary": f"{HOSTILE} on web-1"}


def slack_channel() -> Channel:
    config = SlackConfig(Secret("http://127.0.0.1:1/x", "env:SLACK_URL"), None)
    return Channel("ops", ChannelKind.SLACK, config)


def with_labels(channel: Channel) -> Channel:
    """The channel with a text naming a label and the counts."""
    compiler = TemplateCompiler()
    templates = NotificationTemplates(
        compiler.compile("{{ incident.title }}", TemplateKind.NOTIFICATION),
        compiler.compile(
            "owner {{ labels.owner }}; {{ incident.category }} {{ incident.impact }}"
            "/{{ incident.urgency }}; {{ alert_count }} alert(s)",
            TemplateKind.NOTIFICATION,
        ),
    )
    return replace(channel, templates=templates)


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [s for v in node.values() for s in _texts(v)]
    if isinstance(node, list):
        return [s for v in node for s in _texts(v)]
    return []


async def test_slack_shows_category_and_counts_and_escapes_alert_text(store: Store) -> None:
    [entry, _], _ = await decided_entries(store)
    async with aiohttp.ClientSession() as session:
        notifier = SlackNotifier(session, PUBLIC_URL)
        default = notifier.message(slack_channel(), entry)
        labelled = notifier.message(with_labels(slack_channel()), entry)
    escaped = "&lt;!channel&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &lt;http://evil.example|click&gt;"
    body = " ".join(_texts(default["blocks"]))
    assert "Priority P2, performance, service checkout; 3 alert(s)." in body
    assert f"{escaped} on web-1" in body
    assert f"owner {escaped}; performance medium/high; 3 alert(s)" in " ".join(
        _texts(labelled["blocks"])
    )
    for message in (default, labelled):
        for text in _texts(message["blocks"][1:]):  # all but the plain-text header
            assert "<" not in text, text
            assert ">" not in text, text


def smtp_channel() -> Channel:
    config = SmtpConfig("127.0.0.1", 25, SmtpSecurity.NONE, "tocsin@example.org", None, None)
    return Channel("mail", ChannelKind.EMAIL, config)


def composed(channel: Channel, entry: dict[str, Any]) -> tuple[str, str]:
    """The plain text and HTML of the entry's e-mail on ``channel``."""
    return parts(compose(channel, entry, rules=None, links=None, public_url=PUBLIC_URL, now=T0))


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return plain.get_content(), html.get_content()


async def test_email_shows_category_and_counts_and_escapes_alert_text(store: Store) -> None:
    [entry, _], _ = await decided_entries(store)
    text, html = composed(smtp_channel(), entry)
    assert "Priority P2, performance, service checkout; 3 alert(s)." in text
    assert f"{HOSTILE} on web-1" in text  # plain text is shown as it is
    text, html = composed(with_labels(smtp_channel()), entry)
    assert f"owner {HOSTILE}; performance medium/high; 3 alert(s)" in text
    assert "owner &lt;!channel&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>bold</b>" not in html


async def test_apprise_text_shows_category_and_counts(store: Store) -> None:
    [entry, _], _ = await decided_entries(store)
    channel = Channel("chat", ChannelKind.APPRISE, AppriseConfig((), timedelta(seconds=5)))
    notifier = AppriseNotifier(World(store).clock, PUBLIC_URL)
    _, body = notifier.message(channel, entry)
    assert "Priority P2, performance, service checkout; 3 alert(s)." in body


def test_an_entry_stored_before_summaries_reads_as_empty() -> None:
    old = {
        "key": "inc-0001:1:0:0:ann:hook",
        "incident": "inc-0001",
        "generation": 1,
        "level": 0,
        "repeat": 0,
        "person": "ann",
        "channel": "hook",
        "address": "ann@example.org",
        "title": "High latency",
        "state": "triggered",
        "priority": "P2",
        "service": "checkout",
    }
    body = webhook_body(old, PUBLIC_URL)["incident"]
    assert body["category"] is None
    assert (body["alert_count"], body["labels"], body["annotations"]) == (0, {}, {})
    text, _ = composed(smtp_channel(), old)
    assert "Priority P2, , service checkout; 0 alert(s)." in text


def test_the_summary_is_cut_to_its_limits() -> None:
    many = {f"k{i:03d}": "v" * (MAX_VALUE + 50) for i in range(MAX_LABELS + 10)}
    big = replace(
        alert(1, AlertStatus.FIRING, **many),
        annotations={"description": "d" * (MAX_ANNOTATION * 3)},
    )
    summary = summary_fields(
        replace(make_incident(1), alerts={big.fingerprint: big}), make_rules().priority.matrix
    )
    assert len(summary["labels"]) == MAX_LABELS
    cut = [v for k, v in summary["labels"].items() if k.startswith("k")]
    assert cut
    assert all(len(v) == MAX_VALUE and v.endswith("…") for v in cut)
    assert len(summary["annotations"]["description"]) == MAX_ANNOTATION
    assert (summary["alert_count"], summary["firing_count"]) == (1, 1)


def test_common_labels_are_the_firing_alerts_else_all() -> None:
    resolved = [alert(1, AlertStatus.RESOLVED), alert(2, AlertStatus.RESOLVED)]
    summary = summary_fields(
        replace(make_incident(1), alerts={a.fingerprint: a for a in resolved}),
        make_rules().priority.matrix,
    )
    assert summary["labels"] == {"alertname": "HighLatency"}
    assert summary["firing_count"] == 0
    assert summary["annotations"] == {"summary": f"{HOSTILE} on web-1"}


@pytest.mark.parametrize(("level", "name"), [(1, "high"), (3, "3"), (None, None)])
def test_impact_is_named_by_the_matrix(level: int | None, name: str | None) -> None:
    matrix = replace(make_rules().priority.matrix, impacts=("high", "low"))
    summary = summary_fields(replace(make_incident(1), impact=level), matrix)
    assert summary["impact"] == name


async def test_an_sla_page_carries_the_summary_too(store: Store) -> None:
    world = SlaWorld(store, rules=sla_rules())
    await open_incident(world, replace(incident(), priority="P1"))
    await world.run_sla()
    world.clock.set(T0 + timedelta(minutes=3, seconds=45))  # P1's acknowledge warning
    await world.run_sla()
    [key] = await world.sla_outbox()
    entry = (await store.consumer_documents(OUTBOX, [key]))[key]
    body = webhook_body(entry, PUBLIC_URL)
    assert body["type"] == "incident.sla"
    assert body["incident"]["category"] == "performance"
    assert (body["incident"]["alert_count"], body["incident"]["firing_count"]) == (3, 2)
    assert body["incident"]["labels"] == {"alertname": "HighLatency", "owner": HOSTILE}
