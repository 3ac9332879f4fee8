"""The stored alert documents, decoded as far as the Alertmanager API shows them.

The stores keep each incident's alerts as ``core.codec.encode_alert`` documents, one per
body or a batch of them in a JSON array. The API reads every open one after a start or
a storm: 100,000 documents of 17 fields each. Decoded whole (``orjson.loads``) that was
some 3 us an alert, about half the render; here msgspec reads only the fields the
API uses into a slotted struct, and leaves the labels, the annotations and the generator
URL as their JSON text (``msgspec.Raw``), which the render copies into the alert's JSON
object as it is. Label sets are decoded only for a ``filter`` that reads them
(:func:`decode_labels`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from core.codec import gathered_runs

EMPTY_OBJECT = msgspec.Raw(b"{}")
EMPTY_TEXT = msgspec.Raw(b'""')


class StoredAlert(msgspec.Struct, gc=False):
    """The fields of a stored alert document that the API reads (the others are skipped).

    ``gc=False``: the collector does not track it (it holds no containers), so that
    decoding 100,000 of them does not set off collections.
    """

    fingerprint: str
    labels: msgspec.Raw
    status: str
    first_seen: int
    last_seen: int
    position: str
    ends_at: int | None = None
    muted_by: str | None = None
    annotations: msgspec.Raw = EMPTY_OBJECT
    generator_url: msgspec.Raw = EMPTY_TEXT
    starts_at: int | None = None
    first_received_at: int | None = None
    last_received_at: int | None = None


_BODY = msgspec.json.Decoder(list[StoredAlert] | StoredAlert)
_LABELS = msgspec.json.Decoder(dict[str, str])


def stored_batches(bodies: Iterable[bytes | str], gather: int = 512) -> Iterator[list[StoredAlert]]:
    """Yields the stored bodies' documents, in order, a list at a time.

    A stored batch comes whole; bodies of one document each (Redis keeps an alert per
    hash field) are gathered, up to ``gather`` of them. The ``Raw`` fields point into
    their body: a reader keeps a copy (``bytes(raw)``), never the ``Raw`` itself, or
    the whole body stays alive with it.
    """
    return gathered_runs((_BODY.decode(body) for body in bodies), gather)


def decode_labels(text: bytes) -> dict[str, str]:
    """A label set kept as its JSON text (``StoredAlert.labels``), decoded."""
    return _LABELS.decode(text)
