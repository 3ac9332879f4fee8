"""`tocsin serve` rings its correlator child: an alert is correlated at once, not at a poll.

A real serve process with its correlator child, which polls the log only once a minute
here: a second alert, sent once the child idles, is correlated within the deadline only
because ingest rang the child's doorbell socket (tocsin.wakeup).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from core.fingerprint import labels_fingerprint
from core.store import IncidentQuery
from tests.integration.integrity import open_store
from tests.server_process import PROM_AUTH, StartTocsin
from tests.support import poll_until


def _alert(name: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "instance": "db1:9100", "severity": "page"}}


async def test_a_new_alert_is_correlated_without_waiting_for_the_childs_poll(
    start_tocsin: StartTocsin,
) -> None:
    tocsin = await start_tocsin(None, "--correlator-poll-seconds", "60")
    store = await open_store(tocsin.store)

    async def correlated(name: str) -> bool | None:
        wanted = labels_fingerprint(_alert(name)["labels"])
        incidents = await store.list_incidents(IncidentQuery(limit=100))
        return True if any(wanted in i.alerts for i in incidents) else None

    try:
        async with aiohttp.ClientSession() as session:
            for name in ("First", "Second"):  # the second comes while the child idles
                url = tocsin.url + "/api/v2/alerts"
                async with session.post(url, json=[_alert(name)], headers=PROM_AUTH) as answer:
                    assert answer.status == 200, await answer.text()
                await poll_until(lambda n=name: correlated(n), deadline_seconds=20, interval=0.05)
    finally:
        await store.close()
