"""Scheduled maintenance from the rules' windows and the API's, by the clock (no store)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rules.model import Rules
from statuspage.maintenance import effective, under_maintenance, window_maintenances
from statuspage.model import MaintenanceStatus, PublicMaintenance
from tests.rules.helpers import load_text

KEY = "00" * 16  # the page's id key (records.PageState.id_key)
WINDOWS = """
maintenance_windows:
  - name: weekly
    matchers: ['service="search"']
    time_zone: Europe/Berlin
    weekly: [{days: [sun], from: "02:00", to: "04:00"}]
    components: [search]
  - name: monthly
    matchers: ['service="search"']
    time_zone: Europe/Berlin
    cron: "30 1 1 * *"
    duration: 90m
    components: [website]
  - name: once
    matchers: ['service="x"']
    from: 2026-12-10T02:00:00+01:00
    to: 2026-12-10T05:00:00+01:00
    components: [website]
  - name: internal-only
    matchers: ['service="x"']
    from: 2026-12-10T02:00:00Z
    to: 2026-12-10T05:00:00Z
status_page:
  name: S
  components:
    - {name: website, display_name: Website}
    - {name: search, display_name: Search}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Rules:
    return load_text(tmp_path, WINDOWS)


def test_windows_show_their_current_and_next_occurrence(rules: Rules) -> None:
    # Sunday 6 December 2026, 02:30 in Berlin: the weekly window is open.
    now = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
    found = window_maintenances(rules.maintenance_windows, rules.status_page, now, KEY)
    spans = {(m.component_ids, m.status, m.scheduled_for) for m in found}
    assert spans == {
        (("search",), MaintenanceStatus.IN_PROGRESS, datetime(2026, 12, 6, 1, 0, tzinfo=UTC)),
        (("search",), MaintenanceStatus.SCHEDULED, datetime(2026, 12, 13, 1, 0, tzinfo=UTC)),
        (("website",), MaintenanceStatus.SCHEDULED, datetime(2027, 1, 1, 0, 30, tzinfo=UTC)),
        (("website",), MaintenanceStatus.SCHEDULED, datetime(2026, 12, 10, 1, 0, tzinfo=UTC)),
    }
    # Named after the components, never after the window (its name is internal).
    assert {m.name for m in found} == {
        "Scheduled maintenance: Search",
        "Scheduled maintenance: Website",
    }


def test_components_under_maintenance_follow_the_windows(rules: Rules) -> None:
    page = rules.status_page
    windows = rules.maintenance_windows
    open_weekly = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
    assert under_maintenance(windows, [], page, open_weekly) == {"search"}
    assert under_maintenance(windows, [], page, open_weekly + timedelta(hours=3)) == set()
    in_once = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    assert under_maintenance(windows, [], page, in_once) == {"website"}


T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def api_maintenance(status: MaintenanceStatus) -> PublicMaintenance:
    return PublicMaintenance("m", "Upgrade", status, T, T + 2 * H, ("search",), (), T - H, T - H)


@pytest.mark.parametrize(
    ("stored", "at", "shown"),
    [
        # Before its start it stays scheduled.
        (MaintenanceStatus.SCHEDULED, T - H, MaintenanceStatus.SCHEDULED),
        # From its start it is in progress by the clock.
        (MaintenanceStatus.SCHEDULED, T, MaintenanceStatus.IN_PROGRESS),
        # An operator's verifying stays until the end.
        (MaintenanceStatus.VERIFYING, T + H, MaintenanceStatus.VERIFYING),
        # At its end any status but completed is completed.
        (MaintenanceStatus.IN_PROGRESS, T + 2 * H, MaintenanceStatus.COMPLETED),
        # Completed early by an operator stays completed.
        (MaintenanceStatus.COMPLETED, T + H, MaintenanceStatus.COMPLETED),
    ],
)
def test_an_api_maintenance_moves_on_by_the_clock(
    stored: MaintenanceStatus, at: datetime, shown: MaintenanceStatus
) -> None:
    assert effective(api_maintenance(stored), at).status is shown


def test_an_api_maintenance_in_progress_puts_its_components_under_maintenance(
    rules: Rules,
) -> None:
    scheduled = api_maintenance(MaintenanceStatus.SCHEDULED)
    page = rules.status_page
    assert under_maintenance((), [scheduled], page, T - H) == set()
    assert under_maintenance((), [scheduled], page, T + H) == {"search"}
    assert under_maintenance((), [scheduled], page, T + 2 * H) == set()


def test_window_ids_are_stable_and_never_name_the_window(rules: Rules) -> None:
    # Before, a window occurrence's id was "window-<name>-<start>": the rules' internal
    # window name on the public page and in its JSON.
    now = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
    found = window_maintenances(rules.maintenance_windows, rules.status_page, now, KEY)
    again = window_maintenances(rules.maintenance_windows, rules.status_page, now, KEY)
    assert [m.id for m in found] == [m.id for m in again]
    assert len({m.id for m in found}) == len(found)
    for maintenance in found:
        texts = [maintenance.id, maintenance.name, *(u.id for u in maintenance.updates)]
        texts += [u.body for u in maintenance.updates]
        for name in ("weekly", "monthly", "once"):
            assert not any(name in text for text in texts)


def test_window_ids_are_keyed_so_a_guessed_name_cannot_be_confirmed(rules: Rules) -> None:
    # Before, the id was an unkeyed blake2b of the window's name and start: anyone could
    # hash guessed names offline and compare. Now a page's secret key goes in.
    now = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
    (weekly, *_) = rules.maintenance_windows
    found = window_maintenances([weekly], rules.status_page, now, KEY)
    other = window_maintenances([weekly], rules.status_page, now, "11" * 16)
    assert {m.id for m in found}.isdisjoint(m.id for m in other)
    for maintenance in found:
        unkeyed = hashlib.blake2b(digest_size=8)
        unkeyed.update(f"weekly\x00{maintenance.scheduled_for.isoformat()}".encode())
        assert maintenance.id != f"window-{unkeyed.hexdigest()}"


def test_a_window_in_progress_says_so_in_an_update(rules: Rules) -> None:
    now = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
    found = window_maintenances(rules.maintenance_windows, rules.status_page, now, KEY)
    (current,) = [m for m in found if m.status is MaintenanceStatus.IN_PROGRESS]
    assert [(u.status, u.created_at) for u in current.updates] == [
        (MaintenanceStatus.IN_PROGRESS, current.scheduled_for),
        (MaintenanceStatus.SCHEDULED, current.scheduled_for),
    ]
    assert current.updates[0].body == "Scheduled maintenance of Search is in progress."
