"""A correlation commit refuses alert writes that its incidents' versions do not cover."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.store import CorrelationCommit, IncidentAlertWrite, every_alert
from tests.contract.builders import make_incident


def test_every_alert_lists_each_alert_of_each_incident() -> None:
    one, two = make_incident(1), make_incident(2)

    writes = every_alert(one, two)

    assert [(w.incident_id, w.alert) for w in writes] == [
        (one.id, alert) for alert in one.alerts.values()
    ] + [(two.id, alert) for alert in two.alerts.values()]


def test_alert_of_an_incident_the_commit_holds_is_accepted() -> None:
    incident = make_incident(1)
    [alert] = incident.alerts.values()

    commit = CorrelationCommit("g", incidents=(incident,), alerts=every_alert(incident))

    assert commit.alerts == (IncidentAlertWrite(incident.id, alert),)


@pytest.mark.parametrize(
    ("incident_number", "count"),
    [
        # The alert's incident is not written: its version would not guard the alert.
        pytest.param(2, 3, id="other-incident"),
        # The alert differs from the one its incident holds: it would read back changed.
        pytest.param(1, 4, id="different-alert"),
    ],
)
def test_alert_the_commit_does_not_cover_is_refused(incident_number: int, count: int) -> None:
    written = make_incident(1)
    [alert] = make_incident(incident_number).alerts.values()
    write = IncidentAlertWrite(make_incident(incident_number).id, replace(alert, count=count))

    with pytest.raises(ValueError, match="alert"):
        CorrelationCommit("g", incidents=(written,), alerts=(write,))
