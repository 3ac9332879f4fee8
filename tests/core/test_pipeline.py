"""The stage combinators: sequence stops when nothing remains, fan-out collects errors, routing picks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from core.model import Alert, AlertStatus
from core.pipeline import Stage, fan_out, routing, sequence

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def alert(name: str) -> Alert:
    return Alert("s", name, {"alertname": name}, {}, AlertStatus.FIRING, NOW, None, "", NOW)


@dataclass(frozen=True)
class Ctx:
    route: str = "a"
    seen: tuple[str, ...] = ()


class Record(Stage[Ctx]):
    """Passes alerts on and notes its name in the context."""

    def __init__(self, name: str, calls: list[str] | None = None) -> None:
        self.name = name
        self.calls = calls if calls is not None else []

    async def __call__(self, ctx: Ctx, alerts: Sequence[Alert]) -> tuple[Ctx, Sequence[Alert]]:
        self.calls.append(self.name)
        return replace(ctx, seen=(*ctx.seen, self.name)), alerts


class DropAll(Stage[Ctx]):
    async def __call__(self, ctx: Ctx, alerts: Sequence[Alert]) -> tuple[Ctx, Sequence[Alert]]:
        return ctx, []


class Fail(Stage[Ctx]):
    async def __call__(self, ctx: Ctx, alerts: Sequence[Alert]) -> tuple[Ctx, Sequence[Alert]]:
        raise RuntimeError("boom")


async def test_sequence_threads_the_context_and_stops_when_no_alerts_remain() -> None:
    calls: list[str] = []
    pipeline = sequence(Record("first", calls), DropAll(), Record("never", calls))
    ctx, alerts = await pipeline(Ctx(), [alert("A")])
    assert ctx.seen == ("first",)
    assert alerts == []
    assert calls == ["first"]


async def test_fan_out_runs_every_stage_keeps_the_input_and_raises_all_errors() -> None:
    calls: list[str] = []
    ok = fan_out(Record("x", calls), Record("y", calls))
    ctx, alerts = await ok(Ctx(), [alert("A")])
    assert sorted(calls) == ["x", "y"]
    assert [a.fingerprint for a in alerts] == ["A"]
    assert ctx.seen == ()
    with pytest.raises(ExceptionGroup) as caught:
        await fan_out(Fail(), Record("z", calls), Fail())(Ctx(), [alert("A")])
    assert len(caught.value.exceptions) == 2
    assert "z" in calls


async def test_routing_picks_the_stage_named_by_the_context() -> None:
    router = routing({"a": Record("a"), "b": Record("b")}, lambda ctx: ctx.route)
    ctx, _ = await router(Ctx(route="b"), [alert("A")])
    assert ctx.seen == ("b",)
    with pytest.raises(KeyError):
        await router(Ctx(route="c"), [alert("A")])
