"""The service from a label: an alert's ``service`` label names a catalogue service.

Precedence: a category rule that sets ``service`` wins; otherwise the label, if it names
a service of the catalogue; otherwise none. The service then gives the team.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.store.sqlite import SQLiteStore
from tests.correlate.harness import RULES, T0, alert, load_test_rules, make_harness

# Two more services, and no category rule naming either; a rule that files DNS alerts
# under the db service whatever their label says.
CATALOGUE = RULES.replace(
    "services:\n",
    "services:\n  - name: web\n    team: ops\n  - name: search\n",
).replace(
    "categories:\n",
    "categories:\n  - name: dns\n    matchers: ['alertname=\"DnsDown\"']\n    service: db\n",
)


@pytest.mark.parametrize(
    ("labels", "service", "team", "decided_by"),
    [
        # The label names a known service: it is the incident's, with that service's team.
        ({"alertname": "HighLatency", "service": "web"}, "web", "ops", "label service"),
        # A known service without a team.
        ({"alertname": "HighLatency", "service": "search"}, "search", None, "label service"),
        # A label naming no service of the catalogue is not a service.
        ({"alertname": "HighLatency", "service": "unknown"}, None, None, None),
        # A category rule that sets the service wins over the label.
        ({"alertname": "DnsDown", "service": "web"}, "db", "ops", "categories[0]"),
        # The db category rule sets db, as before.
        ({"alertname": "DiskFull", "service": "db"}, "db", "ops", "categories[1]"),
    ],
)
async def test_service_comes_from_a_rule_then_the_label(
    sqlite_store: SQLiteStore,
    tmp_path: Path,
    labels: dict[str, str],
    service: str | None,
    team: str | None,
    decided_by: str | None,
) -> None:
    harness = make_harness(sqlite_store, load_test_rules(tmp_path, CATALOGUE))
    await harness.send(alert(T0, **labels))
    incident = await harness.only_incident()
    assert (incident.service, incident.team) == (service, team)
    events = await harness.store.incident_events(incident.id)
    (categorised,) = [e for e in events if e.kind == "categorised"]
    assert categorised.detail["decided_by"].get("service") == decided_by
