"""Item 27 (ingest): a refused credential is logged, without the credential, within a budget."""

from __future__ import annotations

from datetime import timedelta

from structlog.testing import capture_logs

from core.clock import ManualClock
from ingest.throttled_log import ThrottledLog
from rules.model import RateLimit
from tests.app_harness import START, Ingest

WRONG = {"Authorization": "Bearer wrong-secret-do-not-log"}


class Lines:
    """A stand-in for a structlog logger that keeps what it is asked to write."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, object]]] = []

    def warning(self, event: str, **fields: object) -> None:
        self.lines.append((event, fields))


async def test_401_is_logged_with_remote_and_endpoint_never_the_credential(
    ingest: Ingest,
) -> None:
    with capture_logs() as logs:
        response = await ingest.client.post("/ingest/webhook", json={}, headers=WRONG)
        pd = await ingest.client.post(
            "/v2/enqueue", json={"routing_key": "not-a-key-do-not-log", "event_action": "trigger"}
        )
    assert (response.status, pd.status) == (401, 401)
    refused = [entry for entry in logs if entry["event"] == "unauthenticated request"]
    assert [(e["endpoint"], e["log_level"]) for e in refused] == [
        ("/ingest/webhook", "warning"),
        ("/v2/enqueue", "warning"),
    ]
    assert refused[0]["remote"] == "127.0.0.1"
    assert "do-not-log" not in repr(logs)


async def test_a_flood_of_401s_writes_a_bounded_number_of_lines(ingest: Ingest) -> None:
    with capture_logs() as logs:
        for _ in range(50):
            await ingest.client.post("/ingest/webhook", json={}, headers=WRONG)
    refused = [entry for entry in logs if entry["event"] == "unauthenticated request"]
    assert len(refused) == 10  # the budget's burst; the clock did not move
    assert (
        ingest.metric("tocsin_alerts_rejected_total", source="unknown", reason="unauthenticated")
        == 50
    )


def test_the_next_line_after_a_pause_says_how_many_were_dropped() -> None:
    clock = ManualClock(START)
    lines = Lines()
    throttled = ThrottledLog(lines, clock, RateLimit(alerts_per_second=1, burst=2))
    for _ in range(5):
        throttled.warning("refused")
    assert len(lines.lines) == 2
    clock.advance(timedelta(seconds=1))
    throttled.warning("refused")
    assert lines.lines[-1] == ("refused", {"suppressed": 3})
