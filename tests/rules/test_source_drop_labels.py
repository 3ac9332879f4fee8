"""A source's ``drop_labels`` (HA Prometheus pairs): read strictly, errors at file, line, key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules.helpers import load_text, problems

SOURCE = """\
sources:
  - name: prometheus
    kind: alertmanager_api
    auth: {bearer_token: {env: TOKEN}}
"""


def test_drop_labels_list_and_default(tmp_path: Path) -> None:
    rules = load_text(tmp_path, SOURCE + "    drop_labels: [replica, prometheus_replica]\n")
    assert rules.sources[0].drop_labels == frozenset({"replica", "prometheus_replica"})
    (tmp_path / "plain").mkdir()
    assert load_text(tmp_path / "plain", SOURCE).sources[0].drop_labels == frozenset()


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        # Not a label name.
        ("[replica, 'rep-lica']", "sources[0].drop_labels[1]", "not a valid label name"),
        # The alert's name is what everything groups and titles by.
        ("[alertname]", "sources[0].drop_labels[0]", "cannot be dropped"),
        # Listed twice: a typo for another label, most likely.
        ("[replica, replica]", "sources[0].drop_labels[1]", "listed twice"),
        # A mapping instead of a list.
        ("{replica: true}", "sources[0].drop_labels", "list"),
    ],
)
def test_bad_drop_labels_are_reported(tmp_path: Path, value: str, key: str, message: str) -> None:
    found = problems(tmp_path, SOURCE + f"    drop_labels: {value}\n")
    assert any(p.key == key and message in p.message and p.line == 5 for p in found), found
