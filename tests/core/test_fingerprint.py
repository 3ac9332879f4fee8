"""Fingerprints agree with Alertmanager's, byte for byte."""

from __future__ import annotations

import gc
import tracemalloc

import orjson
import pytest

from core.fingerprint import (
    _RecentFingerprints,
    cached_labels_fingerprint,
    dedup_key_fingerprint,
    labels_fingerprint,
)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # Observed from Alertmanager 0.25 for an alert pushed through its API.
        (
            {
                "alertname": "DiskFull",
                "instance": "db1:9100",
                "service": "db",
                "severity": "critical",
            },
            "e5cb976153386091",
        ),
        # The second alert of the same group.
        (
            {
                "alertname": "DiskFull",
                "instance": "db2:9100",
                "service": "db",
                "severity": "critical",
            },
            "87f8f93154ff3b2a",
        ),
        # An alert from Prometheus 2.42 with external labels.
        (
            {"alertname": "AlwaysFiring", "env": "lab", "severity": "info", "team": "sre"},
            "41a9489ef6845166",
        ),
        # The truncated group's first alert.
        ({"alertname": "Many", "i": "1", "test": "trunc"}, "711b5b5775f74aa9"),
        # The empty label set is FNV-1a's offset basis.
        ({}, "cbf29ce484222325"),
    ],
)
def test_labels_fingerprint_matches_alertmanager(labels: dict[str, str], expected: str) -> None:
    assert labels_fingerprint(labels) == expected


def test_label_order_does_not_matter() -> None:
    assert labels_fingerprint({"a": "1", "b": "2"}) == labels_fingerprint({"b": "2", "a": "1"})


def test_dedup_key_fingerprint_is_stable_per_source_and_differs_across_sources() -> None:
    assert dedup_key_fingerprint("pd", "k") == dedup_key_fingerprint("pd", "k")
    assert dedup_key_fingerprint("pd", "k") != dedup_key_fingerprint("other", "k")
    assert len(dedup_key_fingerprint("pd", "k")) == 16


@pytest.mark.parametrize(
    "labels",
    [
        {},  # the empty set
        {"alertname": "DiskFull", "instance": "db1:9100"},  # the usual case
        {"b": "1", "a": "2"},  # unsorted names: the hash sorts them itself
        {"x": "\udcff"},  # a lone surrogate JSON cannot hold: answered without the cache
    ],
)
def test_cached_fingerprint_equals_the_uncached_one(labels: dict[str, str]) -> None:
    assert cached_labels_fingerprint(labels) == labels_fingerprint(labels)


def test_cached_fingerprints_leave_nothing_for_the_garbage_collector() -> None:
    # A burst of new label sets must not leave tens of thousands of tracked objects in
    # the cache: one collector pass over them held the event loop for 60-75 ms.
    # The server runs with a high collector threshold (tocsin/cli.py), so nothing is
    # collected during a burst: the collector is off here for the same reason.
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        for n in range(5_000):
            cached_labels_fingerprint({"alertname": "Burst", "instance": f"host{n}:9100"})
        added = len(gc.get_objects()) - before
    finally:
        gc.enable()
    assert added < 500


def test_recent_fingerprints_keep_the_last_two_generations() -> None:
    cache = _RecentFingerprints(2)
    keys = [orjson.dumps({"n": str(n)}) for n in range(5)]
    for key in keys[:3]:  # the third label set starts a new generation
        cache.fingerprint(key)
    assert set(cache._new) == {keys[2]}
    assert set(cache._old) == {keys[0], keys[1]}
    cache.fingerprint(keys[0])  # a hit in the old generation moves to the new one
    assert set(cache._new) == {keys[2], keys[0]}
    cache.fingerprint(keys[3])  # the new one is full: it becomes the old one
    assert set(cache._old) == {keys[2], keys[0]}
    assert cache.fingerprint(keys[4]) == labels_fingerprint({"n": "4"})


def test_recent_fingerprints_keep_exact_size_keys() -> None:
    # orjson's output holds a page-sized buffer: kept as the key, 10,000 label sets
    # cost 40 MB instead of a few.
    cache = _RecentFingerprints(20_000)
    keys = [orjson.dumps({"alertname": "Burst", "instance": f"host{n}:9100"}) for n in range(10_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for key in keys:
            cache.fingerprint(key)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / len(keys)
    finally:
        tracemalloc.stop()
    assert per_entry < 1_000
