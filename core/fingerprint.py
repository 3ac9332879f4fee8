"""Alert fingerprints, identical to Alertmanager's for label sets."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

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
    """
    try:
        key = orjson.dumps(labels)
    except orjson.JSONEncodeError:  # text JSON cannot hold (a lone surrogate): no cache
        return labels_fingerprint(labels)
    return _CACHE.fingerprint(key)


class _RecentFingerprints:
    """Fingerprints by label-set JSON, for the label sets of the last two generations.

    Nothing here is tracked by the cyclic garbage collector: the keys are bytes, the
    values strings, and plain dicts of those stay untracked. (A cache keyed by tuples of
    label pairs, or an ``lru_cache`` with its linked nodes, leaves 1-4 tracked objects
    per label set; after a burst of new alerts one collector pass over them took 60-75 ms,
    landing on whichever thread allocated next, an API read holding the event loop.)
    A generation holds up to ``size`` label sets; when it is full it becomes the old one
    and the older is dropped, and a hit in the old generation moves to the new: an
    approximate least-recently-used cache of ``size`` to ``2 * size`` entries.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._new: dict[bytes, str] = {}
        self._old: dict[bytes, str] = {}

    def fingerprint(self, key: bytes) -> str:
        """Returns the fingerprint of the label set whose JSON is ``key``."""
        found = self._new.get(key)
        if found is not None:
            return found
        found = self._old.get(key)
        if found is None:
            found = labels_fingerprint(orjson.loads(key))
        if len(self._new) >= self._size:
            self._old = self._new
            self._new = {}
        # orjson's output keeps its whole buffer (about a page) whatever its length: the
        # cache keeps an exact-size copy, 4 KiB less per label set.
        self._new[memoryview(key).tobytes()] = found
        return found


# Up to 2 x 32,768 label sets: the 65,536 the lru_cache before it held.
_CACHE = _RecentFingerprints(32_768)


def dedup_key_fingerprint(source: str, dedup_key: str) -> str:
    """Returns a stable 16-hex-digit fingerprint for an alert identified by a dedup key.

    The source name is part of it because a dedup key is only unique within one
    integration (PagerDuty's rule); the payload is not, so a resolve that carries only
    the key finds the alert it resolves.
    """
    digest = hashlib.sha256(f"{source}\x00{dedup_key}".encode()).digest()
    return digest[:8].hex()
