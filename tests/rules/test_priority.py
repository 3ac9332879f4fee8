"""Priority from impact x urgency, and SLA targets per priority."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.model import Rules
from rules.priority import DEFAULT_PRIORITY
from tests.rules.helpers import load_text


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        # The ITIL 3x3 matrix: P = I + U - 1.
        (1, 1, 1),
        (1, 2, 2),
        (1, 3, 3),
        (2, 1, 2),
        (2, 2, 3),
        (2, 3, 4),
        (3, 1, 3),
        (3, 2, 4),
        (3, 3, 5),
    ],
)
def test_default_matrix_is_itil_3x3(impact: int, urgency: int, priority: int) -> None:
    assert DEFAULT_PRIORITY.matrix.priority(impact, urgency) == priority


def test_default_sla_gives_every_priority_targets_with_a_75_percent_warning() -> None:
    p1 = DEFAULT_PRIORITY.sla_for(1)
    assert p1 is not None
    assert p1.acknowledge is not None
    assert p1.acknowledge.within == timedelta(minutes=5)
    assert p1.acknowledge.warn_at == (timedelta(minutes=3, seconds=45),)
    assert [t.priority for t in DEFAULT_PRIORITY.sla] == [1, 2, 3, 4, 5]


ITOP = """\
priority:
  impact: [department, service, person]
  urgency: [critical, high, medium, low]
  matrix:
    - [P1, P1, P2, P4]
    - [P1, P2, P3, P4]
    - [P2, P3, P3, P4]
  default_impact: person
  default_urgency: low
  sla:
    P1: {acknowledge: 5m, resolve: 15m, warn_at: [50%, 0.9, 1m]}
    P4: {resolve: 1w}
categories:
  - matchers: ['team="hr"']
    impact: department
    urgency: 2
"""


@pytest.fixture
def itop(tmp_path: Path) -> Rules:
    return load_text(tmp_path, ITOP)


def test_a_custom_matrix_with_named_levels(itop: Rules) -> None:
    matrix = itop.priority.matrix
    assert (matrix.levels, matrix.impact_level("service"), matrix.urgency_level("3")) == (4, 2, 3)
    assert matrix.priority(3, 1) == 2


def test_categorisation_uses_the_custom_levels_and_defaults(itop: Rules) -> None:
    hr = itop.categorise({"team": "hr"})
    other = itop.categorise({"team": "web"})
    assert (hr.impact, hr.urgency, hr.priority_name) == (1, 2, "P1")
    assert (other.impact, other.urgency, other.priority_name) == (3, 4, "P4")


def test_warnings_mix_fractions_percentages_and_durations(itop: Rules) -> None:
    p1 = itop.priority.sla_for(1)
    assert p1 is not None
    assert p1.acknowledge is not None
    assert p1.resolve is not None
    assert p1.acknowledge.warn_at == (
        timedelta(minutes=1),
        timedelta(minutes=2, seconds=30),
        timedelta(minutes=4, seconds=30),
    )
    assert p1.resolve.warn_at == (
        timedelta(minutes=1),
        timedelta(minutes=7, seconds=30),
        timedelta(minutes=13, seconds=30),
    )


def test_priorities_without_targets_have_no_sla(itop: Rules) -> None:
    p4 = itop.priority.sla_for(4)
    assert itop.priority.sla_for(2) is None
    assert p4 is not None
    assert p4.acknowledge is None
