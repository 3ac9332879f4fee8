"""The SilenceStore contract: silences saved by id, read back whole, listed newest first."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.store import Store
from tests.contract.builders import T0, StoreOpener, make_silence


async def test_unknown_silence_reads_as_none_and_list_is_empty(store: Store) -> None:
    assert await store.get_silence("sil-9999") is None
    assert await store.list_silences() == []


async def test_saved_silence_reads_back_equal(store: Store) -> None:
    silence = make_silence(1)

    await store.save_silence(silence)

    assert await store.get_silence(silence.id) == silence


async def test_saving_a_silence_again_replaces_it(store: Store) -> None:
    silence = make_silence(1)
    await store.save_silence(silence)
    expired = replace(silence, ends_at=T0 + timedelta(minutes=30), comment="done early")

    await store.save_silence(expired)

    assert await store.get_silence(silence.id) == expired
    assert await store.list_silences() == [expired]


async def test_list_silences_returns_every_silence_newest_first(store: Store) -> None:
    # Saved out of order, so that the order must come from the store.
    for n in (2, 3, 1):
        await store.save_silence(make_silence(n, ends_at=T0 + timedelta(minutes=n + 1)))

    listed = await store.list_silences()

    assert listed == [make_silence(n, ends_at=T0 + timedelta(minutes=n + 1)) for n in (3, 2, 1)]


async def test_silences_survive_close_and_reopen(open_store: StoreOpener) -> None:
    first = await open_store()
    await first.save_silence(make_silence(1))
    await first.close()

    second = await open_store()
    try:
        listed = await second.list_silences()
    finally:
        await second.close()

    assert listed == [make_silence(1)]


async def test_count_silences_counts_expired_ones_too(store: Store) -> None:
    assert await store.count_silences() == 0
    await store.save_silence(make_silence(1))
    # Ended long ago: still stored (and counted) until retention deletes it.
    await store.save_silence(make_silence(2, ends_at=T0 + timedelta(minutes=3)))
    await store.save_silence(make_silence(1))  # saved again: the same silence

    assert await store.count_silences() == 2


async def test_delete_expired_silences_deletes_only_those_ended_before_the_cutoff(
    store: Store,
) -> None:
    cutoff = T0 + timedelta(days=1)
    # Ended a microsecond before the cutoff: past its retention.
    gone = make_silence(1, ends_at=cutoff - timedelta(microseconds=1))
    # Ended exactly at the cutoff: kept (its retention ends now, not before).
    at_cutoff = make_silence(2, ends_at=cutoff)
    # Still active after the cutoff.
    active = make_silence(3, ends_at=cutoff + timedelta(hours=1))
    for silence in (gone, at_cutoff, active):
        await store.save_silence(silence)

    assert await store.delete_expired_silences(cutoff) == 1
    assert await store.get_silence(gone.id) is None
    assert await store.list_silences() == [active, at_cutoff]
    assert await store.count_silences() == 2
    # Nothing more to delete: idempotent.
    assert await store.delete_expired_silences(cutoff) == 0


async def test_the_silences_revision_changes_with_every_change_and_only_then(
    store: Store,
) -> None:
    assert await store.silences_revision() == ""
    silence = make_silence(1)
    await store.save_silence(silence)
    saved = await store.silences_revision()
    assert saved != ""
    assert await store.silences_revision() == saved  # reading changes nothing
    await store.save_silence(replace(silence, ends_at=T0 + timedelta(minutes=1)))
    expired = await store.silences_revision()
    assert expired != saved
    assert await store.delete_expired_silences(T0 + timedelta(days=1)) == 1
    assert await store.silences_revision() != expired
    deleted = await store.silences_revision()
    assert await store.delete_expired_silences(T0 + timedelta(days=1)) == 0
    assert await store.silences_revision() == deleted  # nothing deleted, nothing changed
