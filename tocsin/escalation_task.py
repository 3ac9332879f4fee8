"""Paging in ``tocsin serve``: the escalation and SLA stages and outbox delivery as tasks.

:func:`add_escalation` registers a cleanup context that runs, each as its own task:

- the escalation stage (``escalation.stage``, consumer group ``escalation``): incident
  events and due timers in, escalation documents and outbox entries out;
- the SLA stage (``escalation.sla_stage``, group ``sla``): SLA clocks, warnings, breaches;
- outbox delivery (``escalation.delivery``): due outbox entries out through the
  notifier of each channel's kind (:data:`NOTIFIER_FACTORIES`), results recorded.

**One deliverer.** With the Redis store every replica runs these tasks, but each stage
group's lease lets one member at a time decide, and delivery runs only on the member
that holds the escalation group's lease (``EscalationStage.lease_until``): the others'
delivery tasks wait. A member stopped gracefully frees the lease at once; one killed
is replaced when its lease runs out (``--escalation-lease-seconds``, 30 s by default),
and the new holder delivers whatever was left due. Delivery is at least once: a member
killed after a receiver got a notification and before the result was recorded leaves
the entry due, and the next holder sends it again with the same ``webhook-id`` (the
outbox key), by which a receiver drops the duplicate. The same holds for a delivery
pass that outlasts its lease (a process paused for longer than the lease).

**Isolation.** Ingest answers once an alert is durable and correlation runs in its own
process (or its own task): neither waits for these tasks, so a slow or failing notifier
only delays other deliveries (each attempt is bounded by its channel's timeout) and
never ingest or correlation. A stage step that wrote something wakes delivery at once,
so a page due now goes out without waiting for the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta

import aiohttp
import structlog
from aiohttp import web

from core.cancellation import end_if_cancelled
from core.errors import StoreError
from escalation.apprise_notifier import make_apprise_notifier
from escalation.delivery import Notifier, NotifierContext, OutboxDelivery
from escalation.email import make_email_notifier
from escalation.sla_stage import SlaStage
from escalation.slack import make_slack_notifier
from escalation.stage import EscalationStage
from escalation.webhook import make_webhook_notifier
from escalation.webhook_http import WebhookClient
from rules.channels import ChannelKind
from rules.model import Rules
from tocsin.escalation_metrics import EscalationMetrics
from tocsin.keys import ACTION_LINKS, CLOCK, REGISTRY, RULES, SETTINGS, STORE, WAKEUPS
from tocsin.wakeup import Waiter

log = structlog.get_logger("tocsin.escalation")

# How often an idle stage looks at the stream and its timers, and an idle delivery at
# the outbox (a stage step that wrote something wakes delivery sooner).
POLL_SECONDS = 0.1
# The longest pause after steps that keep failing.
MAX_BACKOFF_SECONDS = 30.0

NOTIFIER_FACTORIES: Mapping[ChannelKind, Callable[[NotifierContext], Notifier]] = {
    ChannelKind.WEBHOOK: make_webhook_notifier,
    ChannelKind.SLACK: make_slack_notifier,
    ChannelKind.EMAIL: make_email_notifier,
    ChannelKind.APPRISE: make_apprise_notifier,
}


def add_escalation(app: web.Application) -> None:
    """Registers the paging tasks; call after the action links' context (they use it)."""
    metrics = EscalationMetrics(app[REGISTRY])

    async def escalation_context(app: web.Application) -> AsyncIterator[None]:
        """Runs the tasks; on shutdown cancels them and frees the leases."""
        # The webhook notifier's client (its kept-alive connections) beside the session.
        async with aiohttp.ClientSession() as session, WebhookClient() as webhooks:
            paging = EscalationTask(app, session, webhooks, metrics)
            tasks = [
                asyncio.create_task(paging.run_stage("escalation", paging.stage.step)),
                asyncio.create_task(paging.run_stage("sla", paging.sla.step)),
                asyncio.create_task(paging.run_delivery()),
            ]
            yield
            for task in reversed(tasks):  # delivery first: it needs the stage's lease
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await paging.delivery.close()
            await paging.release()

    app.cleanup_ctx.append(escalation_context)


def notifiers(context: NotifierContext) -> dict[ChannelKind, Notifier]:
    """One notifier per channel kind, built from :data:`NOTIFIER_FACTORIES`."""
    return {kind: factory(context) for kind, factory in NOTIFIER_FACTORIES.items()}


class EscalationTask:
    """The stages and delivery of one process (see the module docstring)."""

    def __init__(
        self,
        app: web.Application,
        session: aiohttp.ClientSession,
        webhooks: WebhookClient,
        metrics: EscalationMetrics,
    ) -> None:
        settings = app[SETTINGS]
        clock = app[CLOCK]
        store = app[STORE]
        # Unique per application: two in one process (tests) are two members too.
        member = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        lease = timedelta(seconds=settings.escalation_lease_seconds)
        self._clock = clock
        self._rules: Callable[[], Rules] = lambda: app[RULES].current.rules
        # The correlator's commits ring it (tocsin.wakeup): a stage steps at once then.
        self._incidents = app[WAKEUPS].incidents if WAKEUPS in app else None
        self.stage = EscalationStage(
            store, self._rules, clock, member, lease=lease, metrics=metrics
        )
        self.sla = SlaStage(store, self._rules, clock, member, lease=lease, metrics=metrics)
        context = NotifierContext(
            session, clock, settings.public_base_url, app.get(ACTION_LINKS), self._rules, webhooks
        )
        self.delivery = OutboxDelivery(
            store, self._rules, clock, notifiers(context), metrics=metrics
        )
        # Rung by a stage step that wrote something; a ring during a delivery pass makes
        # the next wait return at once (Waiter takes it on return, before the next pass).
        self._wake = Waiter()

    def delivering(self) -> bool:
        """Tells whether this member holds the escalation lease now, so it delivers."""
        until = self.stage.lease_until
        return until is not None and self._clock.now() < until

    async def run_stage(self, name: str, step: Callable[[], Awaitable[int]]) -> None:
        """Steps a stage until cancelled (:func:`run_steps`); a busy step wakes delivery.

        Idle, the stage waits for the correlator's next commit, or POLL_SECONDS at most.
        """
        idle = None if self._incidents is None else self._incidents.waiter().wait
        await run_steps(name, step, self._wake, idle=idle)

    async def run_delivery(self) -> None:
        """Delivers while this member holds the lease; waits for a stage's step otherwise."""
        failures = 0
        while True:
            busy: int | None = 0
            if self.delivering():
                # dispatch hands the sends to the channels' lanes and does not wait for
                # them: a slow channel never holds up the others, nor the next pass.
                busy = await _guarded("delivery", self.delivery.dispatch, failures)
            if busy is None:
                failures += 1
                await asyncio.sleep(min(MAX_BACKOFF_SECONDS, POLL_SECONDS * 2**failures))
                continue
            failures = 0
            if not busy:
                await self._wake.wait(POLL_SECONDS)

    async def release(self) -> None:
        """Frees both stages' leases, so another replica takes over at once."""
        for stage in (self.stage, self.sla):
            with contextlib.suppress(StoreError):
                await stage.release()


async def run_steps(
    name: str,
    step: Callable[[], Awaitable[int]],
    busy: Waiter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    idle: Callable[[float], Awaitable[object]] | None = None,
) -> None:
    """Runs ``step`` until cancelled: at once after a busy step (setting ``busy``), else
    every POLL_SECONDS.

    A step that keeps failing is tried again after a growing pause (up to
    :data:`MAX_BACKOFF_SECONDS`), so a broken store is not hammered nor the log flooded.
    """
    failures = 0
    while True:
        done = await _guarded(name, step, failures)
        if done is None:
            failures += 1
            await sleep(min(MAX_BACKOFF_SECONDS, POLL_SECONDS * 2**failures))
            continue
        failures = 0
        if done:
            busy.set()
        else:
            await (idle or sleep)(POLL_SECONDS)


async def _guarded(name: str, step: Callable[[], Awaitable[int]], failures: int) -> int | None:
    """One step: how much it did, or None if it failed (a store error or a bug, logged).

    A bug is logged by its class, place and message, with its traceback the first time
    in a row.
    """
    busy: int | None = None
    try:
        busy = await step()
    except StoreError as exc:
        log.warning("paging: store error", task=name, error=str(exc), failures=failures + 1)
    except Exception as exc:  # a bug must not end paging for the process's life
        # The traceback as text, without its frames' locals (a storm incident's are huge).
        trace = "".join(traceback.format_exception(exc))[-4000:] if failures == 0 else None
        log.error(
            "paging step failed",
            task=name,
            error=f"{type(exc).__name__}: {exc}"[:500],
            where=_where(exc),
            failures=failures + 1,
            trace=trace,
        )
    end_if_cancelled()
    return busy


def _where(exc: BaseException) -> str:
    """The file, line and function the exception was raised in."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"
