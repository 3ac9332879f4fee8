"""The ``notifications`` section: bundling, channel pausing, concurrency; mistakes located."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.notifications import Bundling, NotificationTuning, Pausing
from tests.rules.helpers import assert_reported, load_text


def test_without_the_section_the_documented_defaults(tmp_path: Path) -> None:
    tuning = load_text(tmp_path, "sources: []\n").notifications
    assert tuning == NotificationTuning(
        Bundling(5, timedelta(minutes=1)),
        Pausing(5, timedelta(seconds=30), timedelta(minutes=10)),
        4,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "notifications: {bundle: {max: 3, window: 2m}}\n",
            NotificationTuning(bundle=Bundling(3, timedelta(minutes=2))),
        ),
        # Only the window: max keeps its default.
        (
            "notifications: {bundle: {window: 30s}}\n",
            NotificationTuning(bundle=Bundling(5, timedelta(seconds=30))),
        ),
        (
            "notifications: {pause: {after_failures: 2, backoff: 5s, max_backoff: 1m}}\n",
            NotificationTuning(pause=Pausing(2, timedelta(seconds=5), timedelta(minutes=1))),
        ),
        ("notifications: {concurrency: 16}\n", NotificationTuning(concurrency=16)),
        # A channel read by a machine may take many messages a window unbundled.
        (
            "notifications: {bundle: {max: 100000, window: 1s}}\n",
            NotificationTuning(bundle=Bundling(100_000, timedelta(seconds=1))),
        ),
        ("notifications: {}\n", NotificationTuning()),
    ],
)
def test_each_key_is_optional(tmp_path: Path, text: str, expected: NotificationTuning) -> None:
    assert load_text(tmp_path, text).notifications == expected


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        pytest.param(
            "notifications:\n  bundles: {}  #<\n", "notifications.bundles", "unknown key", id="key"
        ),
        pytest.param(
            "notifications:\n  bundle:\n    max: 0  #<\n",
            "notifications.bundle.max",
            "at least 1",
            id="max",
        ),
        pytest.param(
            "notifications:\n  bundle:\n    window: 2h  #<\n",
            "notifications.bundle.window",
            "at most 1h",
            id="window-long",
        ),
        pytest.param(
            "notifications:\n  bundle:\n    window: soon  #<\n",
            "notifications.bundle.window",
            "duration",
            id="window-text",
        ),
        pytest.param(
            "notifications:\n  pause:\n    after_failures: 0  #<\n",
            "notifications.pause.after_failures",
            "at least 1",
            id="failures",
        ),
        pytest.param(
            "notifications:\n  pause:\n    backoff: 1m\n    max_backoff: 10s  #<\n",
            "notifications.pause.max_backoff",
            "at least backoff",
            id="max-below-backoff",
        ),
        pytest.param(
            "notifications:\n  concurrency: 1000  #<\n",
            "notifications.concurrency",
            "at most 256",
            id="concurrency",
        ),
    ],
)
def test_mistakes_are_named_at_their_file_line_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    assert_reported(tmp_path, text, key, message)
