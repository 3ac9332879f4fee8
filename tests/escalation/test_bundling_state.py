"""A recipient's bundling state as stored: sends as runs, the keys held for the bundle."""

from __future__ import annotations

from datetime import timedelta

from core.timestamps import micros
from escalation.bundling import BundleState, bundle_key, held_keys, plan
from rules.notifications import Bundling
from tests.escalation.escalation_world import t


def test_sends_of_one_pass_are_stored_as_one_run_and_read_back() -> None:
    state = BundleState((t(0),) * 1000 + (t(1),) * 2, t(60), ("k1", "k2"))

    document = state.to_document()

    assert document["sent"] == [[micros(t(0)), 1000], [micros(t(1)), 2]]
    assert BundleState.from_document(document) == state


def test_a_state_stored_before_runs_and_held_keys_reads_as_one_send_per_time() -> None:
    old = {"sent": [micros(t(0)), micros(t(0))], "release": None}

    assert BundleState.from_document(old) == BundleState((t(0), t(0)), None, ())


def test_a_hold_keeps_the_keys_of_every_pass_until_its_end() -> None:
    tuning = Bundling(2, timedelta(minutes=1))
    entries = [(f"k{n}", {"status": "pending"}) for n in range(4)]

    first = plan(BundleState(), entries, tuning, t(0))
    later = plan(first.state, [("k9", {"status": "pending"})], tuning, t(10))

    assert [k for k, _ in first.single] == ["k0", "k1"]
    assert first.state.held == ("k2", "k3")
    assert later.state.held == ("k2", "k3", "k9")
    assert held_keys(later.state, t(59)) == ()  # the hold is not over
    assert held_keys(later.state, t(60)) == ("k2", "k3", "k9")


def test_a_channel_paged_as_itself_has_a_key_no_person_has() -> None:
    assert bundle_key(None, "room") == ":room"
    assert bundle_key("ann", "room") == "ann:room"
