"""What an update and a bundle look like to a webhook receiver (the documented body)."""

from __future__ import annotations

from datetime import timedelta

from escalation.bundling import bundle_entry
from escalation.page import Page
from escalation.update_flush import Incident, Notice
from escalation.updates import Change, Recipient
from escalation.webhook import webhook_body
from tests.contract.builders import T0


def test_an_update_lists_its_changes_and_a_resolved_one_says_so() -> None:
    recipient = Recipient("ann", "hook", "ann@example.org", T0)
    changes = (Change(T0 + timedelta(seconds=5), "alerts_joined", ("00000000000000aa",)),)
    open_ = Incident("inc-1", 2, "Disk full", "triggered", "P2", "db", None)
    resolved = Incident("inc-1", 3, "Disk full", "resolved", "P2", "db", None)

    update = webhook_body(Notice(open_, 1, recipient, T0, changes, 0).to_document(), "http://x")
    done = webhook_body(Notice(resolved, 2, recipient, T0, (), 0).to_document(), "http://x")

    assert update["type"] == "incident.update"
    assert update["page"]["key"] == "inc-1:update1:ann:hook"
    assert update["changes"] == [
        {
            "at": "2024-03-10T02:00:04.123456Z",
            "kind": "alerts_joined",
            "alerts": ["00000000000000aa"],
        }
    ]
    assert done["type"] == "incident.resolved"


def test_a_bundle_lists_the_messages_it_replaces() -> None:
    pages = [
        Page(f"inc-{n}", 1, 0, 0, "ann", "hook", "a", T0, f"T{n}", "triggered", "P2", None)
        for n in range(3)
    ]
    entry = bundle_entry([(p.key, p.to_document()) for p in pages])

    body = webhook_body(entry, "http://x")

    assert body["type"] == "incident.bundle"
    assert [b["incident"] for b in body["bundle"]] == ["inc-0", "inc-1", "inc-2"]
    assert body["incident"]["title"] == "3 notifications"
