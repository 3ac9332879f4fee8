"""A source's ``drop_labels``: labels removed before the fingerprint, as ``labeldrop`` does.

Two Prometheus replicas of an HA pair evaluate the same rules and differ only in an
external label such as ``replica``; Alertmanager users drop it with
``alert_relabel_configs`` so that both send one alert. A source that drops it here gets
the same result: one fingerprint, one alert, one incident.
"""

from __future__ import annotations

from dataclasses import replace

from core.fingerprint import cached_labels_fingerprint
from core.model import Alert


def without_labels(alerts: list[Alert], names: frozenset[str]) -> list[Alert]:
    """Returns the alerts without the labels ``names``; label fingerprints are recomputed.

    An alert identified by a dedup key (PagerDuty, a webhook's ``dedup_key``) keeps its
    fingerprint: the key, not the labels, says which alert it is.
    """
    result: list[Alert] = []
    for alert in alerts:
        if names.isdisjoint(alert.labels):
            result.append(alert)
            continue
        labels = {k: v for k, v in alert.labels.items() if k not in names}
        fingerprint = (
            alert.fingerprint if alert.dedup_key is not None else cached_labels_fingerprint(labels)
        )
        result.append(replace(alert, labels=labels, fingerprint=fingerprint))
    return result
