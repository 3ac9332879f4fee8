"""api/v2/*.json has exactly Statuspage's keys and value sets (its documented examples)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from statuspage.model import MaintenanceStatus
from statuspage.site import render_site
from tests.statuspage.site.sample import snapshot

EXAMPLES = Path(__file__).with_name("statuspage_examples")
ENDPOINTS = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]
# The value sets Statuspage documents for each enumerated field.
ENUMS = {
    "indicator": {"none", "minor", "major", "critical"},
    "component": {
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    },
    "incident": {"investigating", "identified", "monitoring", "resolved", "postmortem"},
    "impact": {"none", "minor", "major", "critical", "maintenance"},
    "maintenance": {"scheduled", "in_progress", "verifying", "completed"},
}


def site_json() -> dict[str, Any]:
    """Our documents for the sample page, with one maintenance in progress too."""
    snap = snapshot()
    upcoming = snap.maintenances[0]
    running = replace(upcoming, id="mnt-2", status=MaintenanceStatus.IN_PROGRESS)
    site = render_site(replace(snap, maintenances=(upcoming, running)))
    return {path: json.loads(site[f"api/v2/{path}"]) for path in ENDPOINTS}


def kinds(doc: dict[str, Any]) -> set[str]:
    """Every distinct object shape in a document, as sorted key lists (groups apart)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            found.add(",".join(sorted(value)))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(doc)
    return found


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_document_has_statuspage_keys(endpoint: str) -> None:
    ours = site_json()[endpoint]
    example = json.loads((EXAMPLES / endpoint).read_text())
    assert set(ours) == set(example)
    assert set(ours["page"]) == set(example["page"])
    # Every object we emit has the key set of one object kind of the example.
    assert kinds(ours) <= kinds(example), kinds(ours) - kinds(example)


def values(doc: Any, key: str, inside: str | None = None) -> set[str]:
    """Every value of ``key`` in a document (only in objects under ``inside`` if given)."""
    found: set[str] = set()

    def walk(value: Any, under: str | None) -> None:
        if isinstance(value, dict):
            if key in value and (inside is None or under == inside):
                found.add(value[key])
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, under)

    walk(doc, None)
    return found


# (endpoint, key, the list it sits in, enum): one case per enumerated field we emit.
ENUM_CASES = [
    ("status.json", "indicator", None, "indicator"),
    ("components.json", "status", "components", "component"),
    ("incidents.json", "status", "incidents", "incident"),
    ("incidents.json", "impact", "incidents", "impact"),
    ("incidents.json", "new_status", "affected_components", "component"),
    ("scheduled-maintenances.json", "status", "scheduled_maintenances", "maintenance"),
    ("scheduled-maintenances.json", "impact", "scheduled_maintenances", "impact"),
]


@pytest.mark.parametrize(("endpoint", "key", "inside", "enum"), ENUM_CASES)
def test_enumerated_values_are_statuspage_values(
    endpoint: str, key: str, inside: str | None, enum: str
) -> None:
    ours = values(site_json()[endpoint], key, inside)
    example = values(json.loads((EXAMPLES / endpoint).read_text()), key, inside)
    assert ours
    assert ours <= ENUMS[enum]
    assert example <= ENUMS[enum]


def test_lists_split_as_statuspage_does() -> None:
    docs = site_json()
    assert [i["status"] for i in docs["incidents/unresolved.json"]["incidents"]] == ["identified"]
    assert len(docs["incidents.json"]["incidents"]) == 2
    upcoming = docs["scheduled-maintenances/upcoming.json"]["scheduled_maintenances"]
    active = docs["scheduled-maintenances/active.json"]["scheduled_maintenances"]
    assert [m["status"] for m in upcoming] == ["scheduled"]
    assert [m["status"] for m in active] == ["in_progress"]
    groups = [c for c in docs["components.json"]["components"] if c["group"]]
    assert groups[0]["components"] == ["api", "web"]
    assert docs["summary.json"]["page"]["time_zone"] == "Europe/Paris"


def test_times_carry_the_page_zone_offset() -> None:
    incident = site_json()["incidents.json"]["incidents"][0]
    assert incident["created_at"] == "2026-12-02T10:30:00.000+01:00"
