"""What the reports cost: ``tocsin report`` over 100,000 incidents, a storm's closure report.

``python -m bench.reports --incidents 100000 --alerts 150000 --stores sqlite redis``
fills a fresh store with ``bench.incidents_fill``'s incidents (a quarter year) and times
the figures of the last 30 days and of the whole quarter (pages of summaries), then
builds one storm incident of ``--alerts`` alerts (``bench.big_incident``), closes it,
and times its closure report gathered and rendered as Markdown and HTML. Each is timed,
then run again under tracemalloc for the Python heap's peak.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from datetime import timedelta
from functools import partial

from bench import big_incident, incidents_fill
from bench.big_incident import timed
from bench.correlator_harness import fresh_store, opened
from core.incident import IncidentState
from core.problem_candidates import Recurrence
from core.store import CorrelationCommit, Store
from rules.priority import DEFAULT_PRIORITY
from tocsin.reports.closure import closure_report
from tocsin.reports.closure_render import render_html, render_markdown
from tocsin.reports.collect import collect_figures


async def _close(store: Store, incident_id: str) -> None:
    incident = await store.get_incident(incident_id)
    assert incident is not None
    at = incident.opened_at
    closed = replace(
        incident,
        alerts={},
        version=incident.version + 1,
        state=IncidentState.CLOSED,
        priority="P1",
        acknowledged_at=at + timedelta(minutes=3),
        resolved_at=at + timedelta(hours=2),
        closed_at=at + timedelta(hours=3),
        resolution_code="solved_workaround",
        resolution_notes="rolled back",
    )
    await store.commit(CorrelationCommit("bench", incidents=(closed,)))


async def run(store_name: str, incidents: int, alerts: int) -> None:
    """Fills a fresh store of ``store_name`` and times both reports."""
    with fresh_store(store_name) as (store, _workdir):
        async with opened(store):
            await incidents_fill.fill(store, incidents)
            now = incidents_fill.START + incidents * incidents_fill.SPACING
            print(f"{store_name}: {incidents:,} incidents", flush=True)
            for days in (30, 90):
                since = now - timedelta(days=days)
                figures = partial(
                    collect_figures, store, DEFAULT_PRIORITY, Recurrence(), since, now
                )
                await timed(f"tocsin report --since {days}d", figures)
            storm = await big_incident.build(store, alerts)
            await _close(store, storm)
            print(f"{store_name}: one closed incident of {alerts:,} alerts", flush=True)

            async def gather() -> object:
                return await closure_report(store, store, DEFAULT_PRIORITY, storm)

            report = await closure_report(store, store, DEFAULT_PRIORITY, storm)
            await timed("closure report: gathered", gather)

            async def markdown() -> object:
                return render_markdown(report)

            async def html() -> object:
                return render_html(report)

            await timed("closure report: Markdown", markdown)
            await timed("closure report: HTML", html)


def main() -> None:
    """Parses the arguments and runs each store in turn."""
    parser = argparse.ArgumentParser(prog="python -m bench.reports")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=150_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "redis"])
    args = parser.parse_args()
    for name in args.stores:
        asyncio.run(run(name, args.incidents, args.alerts))


if __name__ == "__main__":
    main()
