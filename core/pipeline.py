"""The pipeline contract: a Stage filters or passes alerts and may refine a typed context.

Modelled on Alertmanager's notify pipeline. A stage never checks which concrete class a
collaborator is; the combinators below are the only glue between stages:

- :func:`sequence` runs stages in order and stops as soon as no alerts remain;
- :func:`fan_out` runs stages concurrently on the same input, keeps the input, and
  raises every failure together;
- :func:`routing` picks one stage by a name the context carries.

Contexts are frozen dataclasses updated with ``dataclasses.replace``, so a missing field
is a type error, not a runtime surprise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from core.model import Alert

Ctx = TypeVar("Ctx")


class Stage(Protocol[Ctx]):
    """One step of a pipeline: returns the context for the next step and the alerts it keeps."""

    async def __call__(self, ctx: Ctx, alerts: Sequence[Alert]) -> tuple[Ctx, Sequence[Alert]]: ...


class _Sequence(Stage[Ctx]):
    def __init__(self, stages: Sequence[Stage[Ctx]]) -> None:
        self._stages = tuple(stages)

    async def __call__(self, ctx: Ctx, alerts: Sequence[Alert]) -> tuple[Ctx, Sequence[Alert]]:
        for stage in self._stages:
            if not alerts:
                break
            ctx, alerts = await stage(ctx, alerts)
        return ctx, alerts


class _FanOut(Stage[Ctx]):
    def __init__(self, stages: Sequence[Stage[Ctx]]) -> None:
        self._stages = tuple(stages)

    async def __call__(self, ctx: Ctx, alerts: Sequence[Alert]) -> tuple[Ctx, Sequence[Alert]]:
        runs = (stage(ctx, alerts) for stage in self._stages)
        results = await asyncio.gather(*runs, return_exceptions=True)
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise ExceptionGroup("fan-out stages failed", errors)
        return ctx, alerts


class _Routing(Stage[Ctx]):
    def __init__(self, stages: Mapping[str, Stage[Ctx]], name_of: Callable[[Ctx], str]) -> None:
        self._stages = dict(stages)
        self._name_of = name_of

    async def __call__(self, ctx: Ctx, alerts: Sequence[Alert]) -> tuple[Ctx, Sequence[Alert]]:
        name = self._name_of(ctx)
        stage = self._stages.get(name)
        if stage is None:
            raise KeyError(f"no stage routed by the name {name!r}")
        return await stage(ctx, alerts)


def sequence(*stages: Stage[Ctx]) -> Stage[Ctx]:
    """Returns a stage that runs ``stages`` in order, stopping once no alerts remain."""
    return _Sequence(stages)


def fan_out(*stages: Stage[Ctx]) -> Stage[Ctx]:
    """Returns a stage that runs ``stages`` concurrently and passes its input on unchanged."""
    return _FanOut(stages)


def routing(stages: Mapping[str, Stage[Ctx]], name_of: Callable[[Ctx], str]) -> Stage[Ctx]:
    """Returns a stage that hands alerts to the stage named by ``name_of(ctx)``."""
    return _Routing(stages, name_of)
