"""core.timestamps.Memo: a bounded memo of the instant conversions made per alert."""

from __future__ import annotations

from datetime import UTC, datetime

from core.timestamps import Memo, from_micros, micros


def test_memo_converts_a_key_once_and_recalls_it() -> None:
    calls: list[int] = []

    def convert(value: int) -> datetime:
        calls.append(value)
        return from_micros(value)

    memo = Memo(convert)
    first = memo[1_000_000]
    assert first == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert memo[1_000_000] is first
    assert calls == [1_000_000]


def test_memo_forgets_everything_once_full_and_stays_right() -> None:
    memo = Memo(micros, size=2)
    instants = [from_micros(n) for n in (1, 2, 3)]
    assert [memo[i] for i in instants] == [1, 2, 3]
    # The third key found it full: only that one is held now, never more than size.
    assert list(memo) == [instants[2]]
    assert memo[instants[0]] == 1
    assert len(memo) <= 2
