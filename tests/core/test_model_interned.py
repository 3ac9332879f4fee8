"""Label values the correlator keeps are interned: equal values become one string."""

from __future__ import annotations

from types import MappingProxyType

from core.model import interned


def _fresh(text: str) -> str:
    # A string built at run time, so not the interned constant of the same text.
    return "".join(list(text))


def test_a_dict_is_interned_in_place_and_keeps_its_labels() -> None:
    labels = {"alertname": _fresh("HighLatency"), "instance": _fresh("web-1:9100")}
    other = {"alertname": _fresh("HighLatency"), "instance": _fresh("web-2:9100")}
    assert labels["alertname"] is not other["alertname"]
    kept, also_kept = interned(labels), interned(other)
    # The log reader's dict itself, with the same keys and equal values, in order.
    assert kept is labels
    assert list(kept.items()) == [("alertname", "HighLatency"), ("instance", "web-1:9100")]
    # The value both alerts share is now one string.
    assert kept["alertname"] is also_kept["alertname"]


def test_another_mapping_is_copied_into_an_interned_dict() -> None:
    source = {"alertname": _fresh("DiskFull")}
    kept = interned(MappingProxyType(source))
    assert type(kept) is dict
    assert kept == {"alertname": "DiskFull"}
    assert kept["alertname"] is interned({"alertname": _fresh("DiskFull")})["alertname"]
