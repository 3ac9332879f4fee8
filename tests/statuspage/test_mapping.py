"""The page's indicator and description always go together (statuspage.mapping.overall)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

from statuspage.mapping import DESCRIPTIONS, MAINTENANCE_DESCRIPTION, overall
from statuspage.model import (
    ComponentStatus,
    Impact,
    Indicator,
    PublicIncident,
    PublicIncidentStatus,
)

T = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
OPEN = PublicIncident(
    "p1", "X", PublicIncidentStatus.INVESTIGATING, Impact.NONE, T, T, T, None, None, (), ()
)


def test_every_combination_describes_its_indicator() -> None:
    for statuses in itertools.product(list(ComponentStatus), repeat=2):
        for impact in [None, *Impact]:
            incidents = [] if impact is None else [replace(OPEN, impact=impact)]
            indicator, description = overall(statuses, incidents)
            if description == MAINTENANCE_DESCRIPTION:
                assert indicator is Indicator.NONE
                assert ComponentStatus.UNDER_MAINTENANCE in statuses
            else:
                assert description == DESCRIPTIONS[indicator]


def test_statuspages_documented_example_and_an_incidents_impact() -> None:
    # Statuspage's example: one partial outage and one major outage: major.
    partial, major = ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE
    assert overall([partial, major], []) == (Indicator.MAJOR, "Partial System Outage")
    # One of two components in major outage, its incident critical: critical.
    critical = [replace(OPEN, impact=Impact.CRITICAL)]
    ok = ComponentStatus.OPERATIONAL
    assert overall([major, ok], critical) == (Indicator.CRITICAL, "Major Service Outage")
    maintenance = ComponentStatus.UNDER_MAINTENANCE
    assert overall([maintenance, ok], []) == (Indicator.NONE, "Service Under Maintenance")
    assert overall([ok, ok], []) == (Indicator.NONE, "All Systems Operational")
