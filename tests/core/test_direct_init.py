"""direct_init builds the very objects the dataclass constructors build, and refuses others.

Alert.from_json builds through it too; tests/core/test_model.py reads alerts back equal.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from core.direct_init import direct_init
from core.incident import IncidentAlert, new_incident_alert
from core.model import AlertStatus

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_an_incident_alert_built_directly_equals_the_constructed_one() -> None:
    values = (
        "0123456789abcdef",
        {"alertname": "DiskFull", "instance": "db1"},
        AlertStatus.RESOLVED,
        T0,
        T0 + timedelta(minutes=1),
        7,
        "42",
        T0 + timedelta(minutes=5),
        (T0, T0 + timedelta(seconds=30)),
        "silence s1 by alice: maintenance",
        {"summary": "Disk almost full on db1"},
        "http://prometheus:9090/graph?g0.expr=disk",
        T0 - timedelta(minutes=3),
        T0 - timedelta(seconds=1),
        T0 + timedelta(seconds=59),
        True,
        "backup-db1",
    )
    built = new_incident_alert(*values)
    constructed = IncidentAlert(*values)
    assert built == constructed
    assert type(built) is IncidentAlert
    # Every field in its place, not merely equal as a whole.
    assert [getattr(built, f.name) for f in dataclasses.fields(IncidentAlert)] == list(values)
    # Still frozen.
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.count = 8  # type: ignore[misc]


@dataclasses.dataclass(slots=True)
class _Mutable:
    value: int


@dataclasses.dataclass(frozen=True)
class _WithoutSlots:
    value: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@pytest.mark.parametrize("cls", [_Mutable, _WithoutSlots, _Checked, dict])
def test_classes_it_cannot_build_faithfully_are_refused(cls: type) -> None:
    with pytest.raises(TypeError):
        direct_init(cls)
