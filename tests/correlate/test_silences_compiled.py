"""Silences are read when they change and compiled once per version (issue 9, item 14).

Every step used to read and compile every silence, expired ones included: three
expired 100k-matcher silences halved the correlator's throughput for good. A step now
reads the store's silences revision and reads the silences only when it changed, and a
silence is compiled once, while active; a pending or ended one is never compiled.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.silence import LabelMatcher, Silence
from core.store.sqlite import SQLiteStore
from correlate.mutes import CompiledSilences, SilenceReader
from tests.correlate.harness import T0, Harness, alert


class CountingStore(SQLiteStore):
    """The real SQLite store, counting how often the silences are listed."""

    listed = 0

    async def list_silences(self) -> list[Silence]:
        self.listed += 1
        return await super().list_silences()


def _silence(sid: str, starts: timedelta, ends: timedelta, value: str = "db1") -> Silence:
    return Silence(
        sid, (LabelMatcher("instance", "=", value),), T0 + starts, T0 + ends, "ana", "x", T0
    )


async def test_silences_are_listed_only_when_they_changed(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "tocsin.db")
    await store.open()
    try:
        reader = SilenceReader(store)
        assert await reader.read() == []
        for _ in range(5):
            await reader.read()
        assert store.listed == 1  # unchanged: only the revision was read
        silence = _silence("s1", timedelta(0), timedelta(hours=1))
        await store.save_silence(silence)
        assert await reader.read() == [silence]
        await reader.read()
        assert store.listed == 2
    finally:
        await store.close()


def test_a_silence_is_compiled_once_and_never_while_pending_or_ended() -> None:
    compiled = CompiledSilences()
    active = _silence("on", timedelta(0), timedelta(hours=1))
    # Not a valid matcher: compiling it would raise. Pending or ended, it is never compiled.
    broken = (LabelMatcher("instance", "=~", "(unclosed"),)
    pending = Silence(
        "later", broken, T0 + timedelta(hours=1), T0 + timedelta(hours=2), "a", "", T0
    )
    ended = Silence("past", broken, T0 - timedelta(hours=2), T0 - timedelta(hours=1), "a", "", T0)
    [first] = compiled.in_force([pending, active, ended], T0)
    [again] = compiled.in_force([pending, active, ended], T0 + timedelta(minutes=1))
    assert again is first  # the same compiled matchers, not compiled again
    # Expired by an operator: a new version, which is no longer active.
    assert (
        compiled.in_force([_silence("on", timedelta(0), timedelta(0, 1))], T0 + timedelta(1)) == []
    )


async def test_a_step_sees_a_new_silence_at_once(harness: Harness) -> None:
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db0"))
    await harness.store.save_silence(_silence("s1", timedelta(0), timedelta(hours=1)))
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db1"))
    incident = await harness.only_incident()
    muted = {a.labels["instance"]: a.muted_by for a in incident.alerts.values()}
    assert muted == {"db0": None, "db1": "silence s1 by ana: x"}


def test_a_silence_updated_in_place_is_compiled_again() -> None:
    # Alertmanager updates a pending silence in place, matchers included.
    compiled = CompiledSilences()
    before = _silence("s", timedelta(0), timedelta(hours=1), value="db1")
    [first] = compiled.in_force([before], T0)
    after = _silence("s", timedelta(0), timedelta(hours=1), value="db2")
    [second] = compiled.in_force([after], T0)
    assert second is not first
    assert second.key != first.key  # the sweep sees the mutes in force changed
    assert second.matchers[0].value == "db2"
    # Read again, equal: not compiled again.
    [third] = compiled.in_force([_silence("s", timedelta(0), timedelta(hours=1), value="db2")], T0)
    assert third is second
