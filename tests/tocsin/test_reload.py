"""Rules reload: POST /-/reload and SIGHUP swap valid rules in, keep the old ones otherwise."""

from __future__ import annotations

import os
import signal

from tests.app_harness import ADMIN, HOOK_AUTH, RESPONDER, RULES, Ingest
from tocsin.keys import RELOADER, SETTINGS
from tocsin.keys import RULES as RULES_KEY

NEW_TOKEN_RULES = RULES.replace(
    "{bearer_token: {env: HOOK_TOKEN}}", "{bearer_token: {env: AM_TOKEN}}"
)


async def test_valid_new_rules_take_effect_on_post_reload(ingest: Ingest) -> None:
    ingest.client.app[SETTINGS].rules.write_text(NEW_TOKEN_RULES)
    response = await ingest.client.post("/-/reload", headers=ADMIN)
    assert response.status == 200
    alert = {"dedup_key": "k", "summary": "s"}
    old = await ingest.client.post("/ingest/webhook", json=alert, headers=HOOK_AUTH)
    new = await ingest.client.post(
        "/ingest/webhook", json=alert, headers={"Authorization": "Bearer am-secret"}
    )
    assert (old.status, new.status) == (401, 200)
    assert ingest.metric("tocsin_config_last_reload_successful") == 1
    assert (
        ingest.metric("tocsin_config_last_reload_success_timestamp_seconds")
        == ingest.clock.now().timestamp()
    )


async def test_invalid_rules_are_reported_and_the_old_ones_stay(ingest: Ingest) -> None:
    ingest.client.app[SETTINGS].rules.write_text(
        RULES.replace("kind: webhook", "kind: carrier-pigeon")
    )
    response = await ingest.client.post("/-/reload", headers=ADMIN)
    assert response.status == 400
    [problem] = (await response.json())["problems"]
    assert problem["key"] == "sources[2].kind"
    assert problem["line"] == RULES.splitlines().index("    kind: webhook") + 1
    still = await ingest.client.post(
        "/ingest/webhook", json={"dedup_key": "k", "summary": "s"}, headers=HOOK_AUTH
    )
    assert still.status == 200
    assert ingest.metric("tocsin_config_last_reload_successful") == 0


async def test_sighup_reloads_the_rules(ingest: Ingest) -> None:
    before = ingest.client.app[RULES_KEY].current
    ingest.client.app[SETTINGS].rules.write_text(NEW_TOKEN_RULES)
    os.kill(os.getpid(), signal.SIGHUP)
    reloader = ingest.client.app[RELOADER]
    await ingest.client.get("/-/healthy")  # lets the event loop run the signal callback
    assert reloader.pending is not None
    assert await reloader.pending is None
    assert ingest.client.app[RULES_KEY].current is not before


async def test_reload_over_http_needs_an_admin_key(ingest: Ingest) -> None:
    assert (await ingest.client.post("/-/reload")).status == 401
    assert (await ingest.client.post("/-/reload", headers=RESPONDER)).status == 403
