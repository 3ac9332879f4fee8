"""``build_snapshot``: everything the public site shows, read from the store at one instant.

Reads only the status page's own documents (``statuspage.records``) and the rules:
never an internal incident, label or annotation. Component statuses are worked out at
``now`` from the open public incidents and the maintenances, so a maintenance window
that opened since the writer last ran already shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.store import Store
from rules.model import Rules
from rules.status import StatusPage
from statuspage import records as rec
from statuspage.availability import DAYS, IncidentSpan, Today, history_today
from statuspage.maintenance import effective, under_maintenance, window_maintenances
from statuspage.mapping import overall, worst
from statuspage.model import (
    ComponentHistory,
    ComponentStatus,
    PageInfo,
    PublicComponent,
    PublicGroup,
    PublicIncident,
    PublicMaintenance,
    StatusSnapshot,
)
from statuspage.records import IncidentRecord, PageState, Stretch

# At most this many public incidents and maintenances are read (newest first).
HISTORY_LIMIT = 20_000
_KEYS_PER_READ = 5_000


@dataclass(slots=True)
class PageData:
    """What the page's documents hold: the writer's state, public incidents (newest
    first) and the API's maintenances (their stored status, before the clock moves it)."""

    state: PageState
    records: list[IncidentRecord]
    stored: list[PublicMaintenance]


async def read_state(store: Store) -> PageState:
    """The writer's state document (a new state when there is none)."""
    raw = (await store.consumer_documents(rec.STATE, [rec.STATE_KEY])).get(rec.STATE_KEY)
    return PageState.decode(raw)


async def read_page(store: Store, history_limit: int = HISTORY_LIMIT) -> PageData:
    """Reads every document the page shows (at most ``history_limit`` of each kind)."""
    state = await read_state(store)
    records = [
        IncidentRecord.decode(raw)
        for _, raw in await store.due_documents(rec.INCIDENTS, rec.EVERYTHING, history_limit)
    ]
    stored = [
        rec.decode_maintenance(raw)
        for _, raw in await store.due_documents(rec.MAINTENANCES, rec.EVERYTHING, history_limit)
    ]
    return PageData(state, records, stored)


async def build_snapshot(
    store: Store, rules: Rules, now: datetime, *, history_limit: int = HISTORY_LIMIT
) -> StatusSnapshot:
    """Reads the page's state and returns what the site renders at ``now`` (UTC)."""
    data = await read_page(store, history_limit)
    page = rules.status_page
    open_records = [r for r in data.records if r.incident.is_open]
    components = current_components(rules, data.state, open_records, data.stored, now)
    incidents = tuple(r.incident for r in data.records)
    histories = await read_histories(store, page, data.state, components, incidents, now)
    opened = [r.incident for r in open_records]
    return assemble(
        rules, data.stored, components, incidents, opened, histories, now, id_key=data.state.id_key
    )


def current_components(
    rules: Rules,
    state: PageState,
    open_records: Iterable[IncidentRecord],
    stored: Iterable[PublicMaintenance],
    now: datetime,
) -> tuple[PublicComponent, ...]:
    """The components with their status at ``now``: the worst their open public
    incidents set, or under maintenance (``statuspage.mapping``)."""
    page = rules.status_page
    maintained = under_maintenance(rules.maintenance_windows, stored, page, now)
    wanted: dict[str, list[ComponentStatus]] = {c.name: [] for c in page.components}
    for record in open_records:
        for name, status in record.statuses.items():
            wanted.get(name, []).append(status)
    for name in maintained:
        wanted.get(name, []).append(ComponentStatus.UNDER_MAINTENANCE)
    statuses = {name: worst(found) for name, found in wanted.items()}
    return _components(page, state, statuses, now)


def assemble(
    rules: Rules,
    stored: Iterable[PublicMaintenance],
    components: tuple[PublicComponent, ...],
    incidents: tuple[PublicIncident, ...],
    open_incidents: Iterable[PublicIncident],
    histories: tuple[ComponentHistory, ...],
    now: datetime,
    *,
    id_key: str,
) -> StatusSnapshot:
    """The snapshot of these parts at ``now``: maintenances as the clock moves them,
    the rules' windows, the overall indicator (from ``open_incidents``, the open ones
    of ``incidents``)."""
    page = rules.status_page
    maintenances = sorted(
        [
            *(effective(m, now) for m in stored),
            *window_maintenances(rules.maintenance_windows, page, now, id_key),
        ],
        key=lambda m: (m.scheduled_for, m.id),
        reverse=True,
    )
    indicator, description = overall((c.status for c in components), open_incidents)
    return StatusSnapshot(
        page=PageInfo(page.name, page.url, page.time_zone, now.astimezone(UTC)),
        groups=_groups(page),
        components=components,
        incidents=incidents,
        maintenances=tuple(maintenances),
        histories=histories,
        indicator=indicator,
        description=description,
    )


def _components(
    page: StatusPage, state: PageState, statuses: dict[str, ComponentStatus], now: datetime
) -> tuple[PublicComponent, ...]:
    found = []
    for position, component in enumerate(page.components, 1):
        recorded = state.components.get(component.name)
        seen = recorded[2] if recorded else now
        since = recorded[1] if recorded else now
        status = statuses[component.name]
        # The status shown now may be newer than the writer's (a window just opened).
        updated = since if recorded and recorded[0] is status else now
        found.append(
            PublicComponent(
                id=component.name,
                name=component.display_name,
                description=component.description,
                group_id=component.group,
                position=position,
                showcase=component.showcase,
                only_show_if_degraded=component.only_show_if_degraded,
                start_date=component.start_date or seen.astimezone(page.time_zone).date(),
                status=status,
                created_at=seen,
                updated_at=updated,
            )
        )
    return tuple(found)


def _groups(page: StatusPage) -> tuple[PublicGroup, ...]:
    return tuple(
        PublicGroup(
            id=group.name,
            name=group.display_name,
            description=group.description,
            position=position,
            component_ids=tuple(c.name for c in page.components if c.group == group.name),
        )
        for position, group in enumerate(page.groups, 1)
    )


async def read_histories(
    store: Store,
    page: StatusPage,
    state: PageState,
    components: Sequence[PublicComponent],
    incidents: Iterable[PublicIncident],
    now: datetime,
) -> tuple[ComponentHistory, ...]:
    """The 90 days of each of ``components`` (in that order), from its day documents,
    its current stretch and the ``incidents`` on it."""
    found = await read_tallies(store, page, state, components, incidents, now)
    return tuple(h for h, _ in found)


async def read_tallies(
    store: Store,
    page: StatusPage,
    state: PageState,
    components: Sequence[PublicComponent],
    incidents: Iterable[PublicIncident],
    now: datetime,
) -> list[tuple[ComponentHistory, Today]]:
    """:func:`read_histories`, each with what moves its last day on (``availability``)."""
    zone = page.time_zone
    local_today = now.astimezone(zone).date()
    window_start = datetime.combine(
        local_today - timedelta(days=DAYS + 1), datetime.min.time(), UTC
    )
    utc_days = _utc_days(window_start.date(), now.date())
    keys = [rec.interval_key(c.id, d) for c in components for d in utc_days]
    documents: dict[str, dict[str, object]] = {}
    for chunk in range(0, len(keys), _KEYS_PER_READ):
        documents.update(
            await store.consumer_documents(rec.INTERVALS, keys[chunk : chunk + _KEYS_PER_READ])
        )
    spans = [
        IncidentSpan(i.id, frozenset(i.component_ids), i.started_at, i.resolved_at)
        for i in incidents
        if i.resolved_at is None or i.resolved_at >= window_start
    ]
    found = []
    for component in components:
        stretches: list[Stretch] = []
        for d in utc_days:
            stretches.extend(rec.decode_stretches(documents.get(rec.interval_key(component.id, d))))
        current = state.components.get(component.id)
        if (
            current is not None
            and current[0] is not ComponentStatus.OPERATIONAL
            and current[1] < now
        ):
            stretches.append((current[1], now, current[0]))
        mine = [s for s in spans if component.id in s.components]
        found.append(
            history_today(
                component.id,
                stretches,
                start_date=component.start_date,
                zone=zone,
                now=now,
                incidents=mine,
                recorded_from=current[2] if current is not None else now,
            )
        )
    return found


def _utc_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
