"""Reads the incidents of ``tocsin report`` from the store, a page at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime

from core.incident import OPEN_STATES
from core.problem_candidates import Recurrence
from core.store import IncidentQuery, IncidentStore, IncidentSummary
from rules.priority import PriorityRules
from tocsin.reports.figures import Figures, Tally

# Incidents per store read: summaries only (no alert is decoded), newest first.
PAGE = 1000


async def pages(store: IncidentStore, query: IncidentQuery) -> AsyncIterator[IncidentSummary]:
    """Yields every incident the query selects, a page of at most ``query.limit`` at a time.

    Each page starts where the last one stopped (``IncidentStore.incident_page``: an
    opening time and an id, found through the stores' indexes), so no incident is read
    twice or skipped, and a short page (an incident changed since the walk, or a store
    that bounds a page's work) does not end the walk early.
    """
    while True:
        page = await store.incident_page(query)
        for summary in page.summaries:
            yield summary
        if page.next is None:
            return
        query = replace(query, after=page.next)


async def collect_figures(
    store: IncidentStore,
    priority: PriorityRules,
    recurrence: Recurrence,
    since: datetime,
    now: datetime,
    page: int = PAGE,
) -> Figures:
    """The figures of the incidents opened since ``since``, and of the backlog open now."""
    tally = Tally(priority, now)
    async for summary in pages(store, IncidentQuery(opened_after=since, limit=page)):
        tally.add(summary)
    async for summary in pages(store, IncidentQuery(states=OPEN_STATES, limit=page)):
        tally.add_open(summary)
    return tally.figures(recurrence, since)
