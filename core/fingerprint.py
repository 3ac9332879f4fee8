"""Alert fingerprints, identical to Alertmanager's for label sets."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache

import fnv_c
import orjson

_SEPARATOR = "\udcff"


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Returns Alertmanager's fingerprint of a label set: FNV-1a 64 as 16 hex digits.

    Each label is written as ``name 0xFF value 0xFF`` in name order
    (prometheus/common ``labelSetToFingerprint``); an empty set hashes nothing.
    """
    parts: list[str] = []
    for name in sorted(labels):
        parts.append(name)
        parts.append(labels[name])
    parts.append("")
    # Joining with U+DCFF and encoding with surrogateescape writes each separator as the
    # single byte 0xFF in one pass. Label text never holds lone surrogates: JSON decoding
    # rejects them, as Go's does.
    return f"{fnv_c.fnv1a_64(_SEPARATOR.join(parts).encode('utf-8', 'surrogateescape')):016x}"


def cached_labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Returns :func:`labels_fingerprint`, memoised for label sets seen recently.

    Senders repeat the same label sets all day (Prometheus resends every minute), in the
    same key order, so the unsorted items are a cheap key; a different order only costs
    a second cache entry, never a wrong answer, because the hash sorts the names itself.

    The key is the label set's JSON (orjson, in the mapping's order), not a tuple of
    pairs: bytes are cheaper to build than the tuples, and the cyclic garbage collector
    does not track them, whereas 65,536 fresh tuples of tuples cost one 60-75 ms
    collector pass that lands on whichever thread allocates next (an API read holding
    the event loop).
    """
    try:
        key = orjson.dumps(labels)
    except orjson.JSONEncodeError:  # text JSON cannot hold (a lone surrogate): no cache
        return labels_fingerprint(labels)
    return _fingerprint_of_json(key)


@lru_cache(maxsize=65_536)
def _fingerprint_of_json(key: bytes) -> str:
    labels: dict[str, str] = orjson.loads(key)
    return labels_fingerprint(labels)


def dedup_key_fingerprint(source: str, dedup_key: str) -> str:
    """Returns a stable 16-hex-digit fingerprint for an alert identified by a dedup key.

    The source name is part of it because a dedup key is only unique within one
    integration (PagerDuty's rule); the payload is not, so a resolve that carries only
    the key finds the alert it resolves.
    """
    digest = hashlib.sha256(f"{source}\x00{dedup_key}".encode()).digest()
    return digest[:8].hex()
