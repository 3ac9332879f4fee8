"""The server gives an incident the policy that ``tocsin check --explain`` shows."""

from __future__ import annotations

import json
from pathlib import Path

from core.store.sqlite import SQLiteStore
from rules.explain import AlertInput, explain
from tests.correlate.harness import T0, alert, make_harness
from tests.rules.helpers import load_examples

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "checkout-down.json"


async def test_checkout_down_is_paged_to_the_team_that_owns_checkout(
    sqlite_store: SQLiteStore,
) -> None:
    rules = load_examples()
    labels = json.loads(EXAMPLE.read_text())["labels"]
    harness = make_harness(sqlite_store, rules)
    await harness.send(alert(T0, **labels))
    incident = await harness.only_incident()
    # No route below the root names a policy for checkout; its team, payments, does.
    assert incident.team == "payments"
    assert incident.policy == "payments"
    [categorised] = [
        e for e in await sqlite_store.incident_events(incident.id) if e.kind == "categorised"
    ]
    assert categorised.detail["policy"] == "payments"
    assert "team payments" in categorised.detail["policy_from"]
    # --explain says the same.
    [routed] = explain(rules, AlertInput(labels, {}), T0).incidents
    assert routed.policy is not None
    assert routed.policy.name == "payments"
