"""``tocsin report``'s figures: definitions (pure), paged reads on both stores, the three formats."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from core.incident import Incident, IncidentState
from core.problem_candidates import Recurrence
from core.store import CorrelationCommit, GroupHead, IncidentSummary, Store, every_alert
from core.store.sqlite import SQLiteStore
from rules.priority import DEFAULT_PRIORITY
from tests.contract.builders import T0, make_incident
from tocsin.cli import main
from tocsin.reports.collect import collect_figures
from tocsin.reports.figures import compute, nearest_rank, spread
from tocsin.reports.render_html import render_html
from tocsin.reports.render_json import figures_json
from tocsin.reports.render_text import render_text
from tocsin.reports.sla import Outcome, sla_results

NOW = T0 + timedelta(days=2)
SINCE = T0 - timedelta(days=1)
MIN = timedelta(minutes=1)


def worked(n: int, ack: int | None, resolve: int | None, **changes: object) -> Incident:
    """Incident ``n``, acknowledged and resolved that many minutes after opening (None: not)."""
    incident = make_incident(n, group_key=f"g{n}", **changes)
    opened = incident.opened_at
    fields: dict[str, object] = {}
    if ack is not None:
        fields.update(acknowledged_at=opened + ack * MIN, state=IncidentState.ACKNOWLEDGED)
    if resolve is not None:
        fields.update(resolved_at=opened + resolve * MIN, state=IncidentState.RESOLVED)
    return replace(incident, **fields)  # type: ignore[arg-type]


def summary(incident: Incident, alerts: int = 1) -> IncidentSummary:
    return IncidentSummary(incident, alerts, 0)


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([1.0], 50, 1.0),  # one value is every percentile
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),  # nearest rank: ceil(0.5 * 4) = 2nd
        ([1.0, 2.0, 3.0, 4.0], 90, 4.0),  # ceil(0.9 * 4) = 4th
        ([float(v) for v in range(1, 11)], 90, 9.0),  # ceil(0.9 * 10) = 9th
    ],
)
def test_nearest_rank_percentiles(values: list[float], percent: float, expected: float) -> None:
    assert nearest_rank(values, percent) == expected


def test_mtta_and_mttr_are_mean_p50_p90_from_opening() -> None:
    incidents = [worked(1, 2, 10), worked(2, 4, 20), worked(3, 6, None), worked(4, None, None)]
    figures = compute(
        [summary(i) for i in incidents], [], DEFAULT_PRIORITY, Recurrence(), SINCE, NOW
    )
    # Acknowledged: 2, 4, 6 minutes; resolved: 10, 20 minutes.
    assert figures.time_to_acknowledge == spread([2 * MIN, 4 * MIN, 6 * MIN])
    assert figures.time_to_acknowledge.mean == 4 * MIN
    assert figures.time_to_acknowledge.p90 == 6 * MIN
    assert figures.time_to_resolve.count == 2
    assert figures.time_to_resolve.mean == 15 * MIN
    assert figures.time_to_resolve.p50 == 10 * MIN


@pytest.mark.parametrize(
    ("incident", "expected"),
    [
        # P2 (ack 15m, resolve 4h): both within.
        (worked(1, 10, 100, priority="P2"), [Outcome.MET, Outcome.MET]),
        # Acknowledged late, resolved in time.
        (worked(2, 20, 100, priority="P2"), [Outcome.BREACHED, Outcome.MET]),
        # Resolved after 5h, 2h of it on hold: 3h counted, within 4h.
        (
            worked(3, 5, 300, priority="P2", on_hold_total=timedelta(hours=2)),
            [Outcome.MET, Outcome.MET],
        ),
        # Open for two days, not acknowledged: both breached already.
        (worked(4, None, None, priority="P2"), [Outcome.BREACHED, Outcome.BREACHED]),
        # Opened a minute before now: both pending.
        (
            worked(5, None, None, priority="P2", opened_at=NOW - MIN),
            [Outcome.PENDING, Outcome.PENDING],
        ),
        # Resolved without an acknowledgement: the resolve answers the acknowledge clock.
        (worked(6, None, 10, priority="P2"), [Outcome.MET, Outcome.MET]),
    ],
)
def test_sla_outcomes(incident: Incident, expected: list[Outcome]) -> None:
    assert [r.outcome for r in sla_results(incident, DEFAULT_PRIORITY, NOW)] == expected


def test_compliance_backlog_noise_and_volumes() -> None:
    period = [
        summary(worked(1, 10, 100, priority="P2", flapping=True), alerts=1),
        summary(worked(2, 20, 100, priority="P2", muted=True), alerts=3),
        summary(worked(3, None, None, priority="P2", team="db"), alerts=20),
    ]
    # Open now: one opened 30 minutes ago, one two days ago.
    open_now = [
        summary(worked(4, None, None, opened_at=NOW - 30 * MIN)),
        summary(worked(5, None, None, opened_at=NOW - timedelta(days=2))),
    ]
    figures = compute(period, open_now, DEFAULT_PRIORITY, Recurrence(), SINCE, NOW)
    acknowledge = next(c for c in figures.sla if c.target == "acknowledge")
    assert (acknowledge.met, acknowledge.breached, acknowledge.pending) == (1, 2, 0)
    assert acknowledge.compliance == pytest.approx(1 / 3)
    assert dict(figures.backlog)["under 1h"] == 1
    assert dict(figures.backlog)["1d to 7d"] == 1
    assert figures.backlog_total == 2
    assert figures.noise.alerts == 24
    assert figures.noise.alerts_per_incident_max == 20
    assert (figures.noise.muted, figures.noise.flapping) == (1, 1)
    assert dict(figures.by_team) == {"web": 2, "db": 1}


def test_problem_candidates_are_incidents_alike_rules_count_times() -> None:
    # Three incidents of one category and service, two of another service.
    period = [summary(worked(n, None, None)) for n in range(3)] + [
        summary(worked(n, None, None, service="search")) for n in range(3, 5)
    ]
    figures = compute(period, [], DEFAULT_PRIORITY, Recurrence(count=3), SINCE, NOW)
    assert [(c.kind, c.key, c.count) for c in figures.candidates] == [
        ("category_service", {"category": "performance", "service": "checkout"}, 3)
    ]


async def save(store: Store, incident: Incident) -> None:
    await store.commit(
        CorrelationCommit(
            "test",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            alerts=every_alert(incident),
        )
    )


async def test_collect_reads_every_incident_in_pages(store: Store) -> None:
    # 25 incidents read 10 at a time, two of them opened at the same instant.
    for n in range(25):
        await save(store, worked(n, 5, 30, opened_at=T0 + (n // 2) * MIN))
    figures = await collect_figures(
        store, DEFAULT_PRIORITY, Recurrence(), SINCE, NOW, page=10
    )
    assert figures.incidents == 25
    assert figures.time_to_acknowledge.count == 25
    assert figures.time_to_resolve.mean == 30 * MIN


def test_the_three_formats(tmp_path: Path) -> None:
    period = [summary(worked(1, 4, 50, title="<b>x</b>", category="<script>"))]
    figures = compute(period, [], DEFAULT_PRIORITY, Recurrence(), SINCE, NOW)
    text = render_text(figures)
    assert "acknowledge     1      4m    4m   4m" in text
    document = figures_json(figures)
    assert document["time_to_acknowledge"]["mean_seconds"] == 240.0
    assert json.loads(json.dumps(document))["by_category"] == {"<script>": 1}
    page = render_html(figures)
    # One page, SVG charts inline, no script, nothing fetched from elsewhere.
    assert page.count("<svg") == 7
    assert "<script" not in page
    assert "src=" not in page
    assert "&lt;script&gt;" in page


def test_tocsin_report_command_reads_a_sqlite_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An empty store made by a server: the command reports zero incidents as JSON.
    async def make() -> None:
        created = SQLiteStore(tmp_path / "tocsin.db")
        await created.open()
        await created.close()

    asyncio.run(make())
    rules = Path(__file__).resolve().parents[3] / "rules" / "examples"
    code = main(
        ["report", "--store", f"sqlite://{tmp_path / 'tocsin.db'}", "--rules", str(rules),
         "--format", "json"]
    )  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["incidents"] == 0


def test_tocsin_report_refuses_a_store_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--store", f"sqlite://{tmp_path / 'missing.db'}"])
    assert code == 1
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()

