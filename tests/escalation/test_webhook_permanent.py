"""A webhook that cannot be sent as configured is given up at once, not retried.

The defect: a channel URL that is not a URL (``InvalidURL``), or a request that would
break (``MalformedRequest``: a header with a line break, a URL not http or https, or
with no host), was marked transient, so delivery retried it ``max_attempts`` times
although no retry can succeed. Like a 4xx, it is now a permanent failure: the entry is
``failed`` after its first attempt, which records why. Both stores.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.store import Store
from escalation.page import OUTBOX
from escalation.webhook_http import WebhookClient
from rules.channels import WebhookConfig
from rules.credentials import BearerAuth, Secret
from tests.escalation.escalation_world import any_store
from tests.escalation.test_escalation_webhook import (
    Receiver,
    Serve,
    delivered,
    hooked_world,
    started,
)

__all__ = ["any_store"]

# Each case: the channel's URL (None: the receiver's), its bearer token, and the error.
CASES = [
    # Not a URL at all (yarl refuses it).
    ("http://[::1", None, "InvalidURL"),
    # A URL of another scheme.
    ("ftp://127.0.0.1/hook", None, "MalformedRequest"),
    # An http URL with no host.
    ("http:///hook", None, "MalformedRequest"),
    # A token with a line break would inject a header.
    (None, "token\r\nX-Evil: 1", "MalformedRequest"),
]


@pytest.mark.parametrize(("url", "token", "error"), CASES)
async def test_a_request_that_cannot_be_sent_fails_at_its_first_attempt(
    store: Store, aiohttp_server: Serve, url: str | None, token: str | None, error: str
) -> None:
    receiver = Receiver()
    world = hooked_world(store, await started(aiohttp_server, receiver))
    hook = world.rules.channels["hook"]
    assert isinstance(hook.config, WebhookConfig)
    config = hook.config
    if url is not None:
        config = replace(config, url=Secret(url, "env:HOOK"))
    if token is not None:
        config = replace(config, auth=BearerAuth(Secret(token, "env:TOKEN")))
    world.rules = replace(world.rules, channels={"hook": replace(hook, config=config)})
    incident = await world.open()
    await world.at(world.clock.now() + timedelta(seconds=30))
    key = f"{incident}:1:0:0:ann:hook"

    async with WebhookClient() as client:
        delivery = await delivered(world, client)
        for _ in range(4):  # time enough for every retry max_attempts (3) allows
            await delivery.step()
            world.clock.advance(timedelta(seconds=60))

    entry = (await store.consumer_documents(OUTBOX, [key]))[key]
    assert (entry["status"], entry["attempts"]) == ("failed", 1)
    assert [r["error"] for r in entry["results"]] == [error]
    assert receiver.ids == []
    assert await world.outbox() == []  # filed under no time: never tried again
