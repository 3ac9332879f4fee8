"""The labels of the alerts firing right now, which inhibition rules test against."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.incident import Incident
from core.model import AlertStatus


class FiringIndex:
    """Fingerprint -> labels of every firing alert of the open incidents the step knows."""

    def __init__(self) -> None:
        self._labels: dict[str, Mapping[str, str]] = {}

    @classmethod
    def of(cls, incidents: Iterable[Incident]) -> FiringIndex:
        """Builds the index from incidents (their firing alerts)."""
        index = cls()
        for incident in incidents:
            index.update(incident)
        return index

    def update(self, incident: Incident) -> None:
        """Takes in an incident's alerts as they now stand."""
        for alert in incident.alerts.values():
            if alert.status is AlertStatus.FIRING and incident.is_open:
                self._labels[alert.fingerprint] = alert.labels
            else:
                self._labels.pop(alert.fingerprint, None)

    def set(self, fingerprint: str, labels: Mapping[str, str], firing: bool) -> None:
        """Takes in one alert's new state."""
        if firing:
            self._labels[fingerprint] = labels
        else:
            self._labels.pop(fingerprint, None)

    def items(self) -> Iterable[tuple[str, Mapping[str, str]]]:
        """Yields (fingerprint, labels) of the firing alerts."""
        return self._labels.items()
