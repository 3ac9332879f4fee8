"""The page's change log: what a replica missed since the generation it last saw."""

from __future__ import annotations

from typing import Any

from statuspage.changelog import KEEP, MAX_IDS, Changes, advance, since


def _log(*steps: Changes) -> dict[str, Any] | None:
    raw: dict[str, Any] | None = None
    for step in steps:
        raw = advance(raw, step)
    return raw


def test_a_replica_hears_the_union_of_the_steps_it_missed() -> None:
    raw = _log(
        Changes(incidents=frozenset({"a"})),
        Changes(components=frozenset({"search"})),
        Changes(maintenances=frozenset({"m"})),
    )
    assert since(raw, 1) == (
        3,
        Changes(frozenset(), frozenset({"search"}), frozenset({"m"})),
    )
    assert since(raw, 3) == (3, Changes())


def test_new_replicas_gaps_and_a_replaced_store_mean_everything() -> None:
    raw = _log(*[Changes(incidents=frozenset({str(n)})) for n in range(KEEP + 5)])
    assert since(raw, None)[1].everything  # never saw the page
    assert since(raw, 2)[1].everything  # missed more steps than are kept
    assert since(raw, KEEP + 10)[1].everything  # ahead of the store: another store
    assert not since(raw, 10)[1].everything
    assert since(None, None) == (0, Changes(everything=True))


def test_a_step_with_many_ids_is_kept_as_everything() -> None:
    big = Changes(incidents=frozenset(str(n) for n in range(MAX_IDS + 1)))
    raw = _log(big)
    assert raw is not None
    assert raw["recent"] == [[1, {"everything": True}]]
    assert since(raw, 0)[1].everything
