"""The rules' ``status_page.publish``: read strictly, errors at file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.status import DEFAULT_COMPONENT_STATUS, Publishing
from tests.rules.helpers import assert_reported, load_with_base

PAGE = "status_page:\n  name: S\n  publish:\n"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # A priority that is not P1 to P9.
        (
            PAGE + "    priorities: [P1, PX]  #<\n",
            "status_page.publish.priorities[1]",
            "not a priority",
        ),
        # A status outside the component statuses an incident may set.
        (
            PAGE + "    component_status:\n      P2: broken  #<\n",
            "status_page.publish.component_status.P2",
            "must be one of operational",
        ),
        # Maintenance comes from maintenances, not from an incident's priority.
        (
            PAGE + "    component_status:\n      P1: under_maintenance  #<\n",
            "status_page.publish.component_status.P1",
            "must be one of operational",
        ),
        # A key that is not a priority.
        (
            PAGE + "    component_status:\n      P12: operational  #<\n",
            "status_page.publish.component_status.P12",
            "unknown key",
        ),
        # An unknown key of publish, by name.
        (PAGE + "    priority: [P1]  #<\n", "status_page.publish.priority", "unknown key"),
    ],
)
def test_a_wrong_publish_setting_is_reported_at_its_line(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    assert_reported(tmp_path, text, key, message)


def test_publish_reads_priorities_categories_and_the_status_map(tmp_path: Path) -> None:
    text = PAGE + (
        "    priorities: [P1, P2]\n"
        "    categories: [outage]\n"
        "    component_status: {P2: major_outage}\n"
    )
    publishing = load_with_base(tmp_path, text).status_page.publishing
    assert publishing.priorities == {"P1", "P2"}
    assert publishing.categories == {"outage"}
    assert publishing.status_for("P2") == "major_outage"
    assert publishing.status_for("P3") == DEFAULT_COMPONENT_STATUS["P3"]


@pytest.mark.parametrize(
    ("publishing", "category", "priority", "published"),
    [
        # No limits: everything on a component is published.
        (Publishing(), None, "P5", True),
        # A priority not listed.
        (Publishing(priorities=frozenset({"P1"})), "outage", "P2", False),
        # A category not listed.
        (Publishing(categories=frozenset({"outage"})), "latency", "P1", False),
        # Both listed.
        (Publishing(frozenset({"P1"}), frozenset({"outage"})), "outage", "P1", True),
    ],
)
def test_publishes_follows_priorities_and_categories(
    publishing: Publishing, category: str | None, priority: str, published: bool
) -> None:
    assert publishing.publishes(category, priority) is published
