"""``render_site``: the whole static site of one snapshot, as relative path -> bytes.

Given the previous rendering, pages whose inputs did not change are reused instead of
rendered again: an incident's page depends only on the page's name, URL and zone, the
components' names and the incident; a month of history on its incidents and its
neighbouring months; a component's day-by-day page on its history and the names of its
days' incidents. One incident update thus re-renders the front page, the JSON, the
feeds, the badge, that incident's page and its month (and the day-by-day pages of the
components it touched in the last 90 days), whatever the history's length.

An incident's view (``incident_view``) is made once per build and shared by its page and
its month's; the frame of the incident pages is rendered once (``pages.Frame``).

The work per build follows what changed, not the history's length: the incidents that
are new objects since the last build (the snapshot keeps unchanged ones, see
``statuspage.live``) are found by comparing the two builds' sets of object ids (done in
C, not 10,000 steps of Python), and only their pages, their months and the lists of
open incidents are worked out again; everything else is carried over as it was.
``RenderedSite.fresh`` names the files rendered by this build, so that the writer
looks only at those (``write_site``'s ``changed``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from itertools import count

import jinja2

from statuspage.model import ComponentHistory, PublicIncident, StatusSnapshot
from statuspage.site.api import ApiDocuments, IncidentDocuments
from statuspage.site.badge import badge
from statuspage.site.bars import RowCache, shown
from statuspage.site.feeds import Entries, atom, rss
from statuspage.site.pages import (
    Bars,
    Frame,
    Front,
    environment,
    front_page,
    history_index,
    history_month,
    incident_page,
    names_of,
    stylesheet,
    uptime_page,
)
from statuspage.site.text import clean, file_id
from statuspage.site.views import incident_view


class RenderedSite(dict[str, bytes]):
    """A rendered site (path -> bytes) that remembers what each reusable page was made of."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, Hashable] = {}
        self.bars: Bars = {}
        self.frame: Hashable = None
        # Per incident id: the incident rendered, its month and its page's path.
        self.placed: dict[str, tuple[PublicIncident, str, str]] = {}
        # Month -> its incidents in the snapshot's order.
        self.months: dict[str, tuple[PublicIncident, ...]] = {}
        # The snapshot's incidents, and id() of each -> its position (kept alive here, so
        # the ids stay unique while this rendering is the previous one).
        self.incidents: tuple[PublicIncident, ...] = ()
        self.positions: dict[int, int] = {}
        self.open: tuple[PublicIncident, ...] = ()
        self.front: Front | None = None
        # The incidents' JSON documents (``api.ApiDocuments``) and the feeds' entries.
        self.api: IncidentDocuments = {}
        self.atom: Entries = {}
        self.rss: Entries = {}
        # Component id -> its day-by-day page's rows (``bars.rows_html``).
        self.rows: dict[str, RowCache] = {}
        # Paths whose bytes this build made (the others are the last build's, unchanged).
        self.fresh: set[str] = set()
        # Every path but the incidents' pages (those are in ``placed``).
        self.others: set[str] = set()


class _Renderer:
    """Renders pages, reusing the previous bytes of a page whose inputs are equal."""

    def __init__(self, previous: RenderedSite | None) -> None:
        self.previous = previous
        self.site = RenderedSite()

    def page(self, path: str, inputs: Hashable, render: Callable[[], bytes]) -> None:
        previous = self.previous
        if previous is not None and path in previous and previous.inputs.get(path) == inputs:
            self.site[path] = previous[path]
        else:
            self.site[path] = render()
            self.site.fresh.add(path)
        self.site.inputs[path] = inputs
        if not path.startswith(_INCIDENTS):
            self.site.others.add(path)

    def made(self, path: str, data: bytes) -> None:
        """A file rendered by every build (front page, JSON, feeds, badge)."""
        self.site[path] = data
        self.site.fresh.add(path)
        self.site.others.add(path)


_INCIDENTS = "incidents/"
_ENV: list[jinja2.Environment] = []


def _environment() -> jinja2.Environment:
    # Compiling the templates takes longer than rendering a page: compile them once
    # per process (the environment holds no state of any one site).
    if not _ENV:
        _ENV.append(environment())
    return _ENV[0]


def render_site(snapshot: StatusSnapshot, previous: RenderedSite | None = None) -> RenderedSite:
    """Every file of the site: HTML pages, api/v2 JSON, feeds and the badge."""
    env = _environment()
    out = _Renderer(previous)
    site = out.site
    page = snapshot.page
    # Any change of a component's name re-renders every page that names components:
    # rare, and much cheaper to compare than each page's own names.
    frame: Hashable = (
        page.name,
        page.url,
        page.time_zone.key,
        tuple((c.id, c.name) for c in snapshot.components),
    )
    carried = previous if previous is not None and previous.frame == frame else None
    if carried is not None:
        frame = carried.frame  # the same object: each page's inputs compare by identity
    site.frame = frame
    site.incidents = snapshot.incidents
    site.positions = dict(zip(map(id, snapshot.incidents), count()))
    zone = page.time_zone
    names = names_of(snapshot)
    incident_frame = Frame(env, snapshot, "../")
    views: dict[str, dict[str, object]] = {}

    def view(incident: PublicIncident) -> dict[str, object]:
        made = views.get(incident.id)
        if made is None:
            made = views[incident.id] = incident_view(incident, zone, names, "../")
        return made

    def place(incident: PublicIncident) -> str:
        """Renders (or reuses) an incident's page; its month."""
        started = incident.started_at.astimezone(zone)
        month = f"{started.year:04d}-{started.month:02d}"
        path = f"{_INCIDENTS}{file_id(incident.id)}.html"
        out.page(
            path,
            (frame, incident),
            lambda i=incident: incident_page(env, incident_frame, view(i)),  # type: ignore[misc]
        )
        site.placed[incident.id] = (incident, month, path)
        return month

    if carried is None:
        months: dict[str, list[PublicIncident]] = {}
        for incident in snapshot.incidents:
            months.setdefault(place(incident), []).append(incident)
        site.months = {m: tuple(items) for m, items in months.items()}
        site.open = tuple(i for i in snapshot.incidents if i.is_open)
    else:
        _carry_incidents(site, carried, place)
    opened = site.open
    front, site.bars, site.front = front_page(
        env,
        snapshot,
        previous.bars if previous else None,
        opened=opened,
        previous=previous.front if previous else None,
    )
    out.made("index.html", front)
    api = ApiDocuments(snapshot, opened, previous.api if previous else None)
    for path, data in api.documents().items():
        out.made(path, data)
    site.api = api.made
    feed, site.atom = atom(snapshot, previous.atom if previous else None)
    out.made("history.atom", feed)
    feed, site.rss = rss(snapshot, previous.rss if previous else None)
    out.made("history.rss", feed)
    out.made("badge.svg", badge(env, snapshot))
    out.made("style.css", stylesheet(env))

    ordered = sorted(site.months, reverse=True)
    counts = {m: len(site.months[m]) for m in ordered}
    out.page(
        "history/index.html",
        (frame, tuple(counts.items())),
        lambda: history_index(env, snapshot, counts),
    )
    for n, month in enumerate(ordered):
        neighbours = (
            ordered[n - 1] if n else None,
            ordered[n + 1] if n + 1 < len(ordered) else None,
        )
        items = site.months[month]
        out.page(
            f"history/{month}.html",
            (frame, items, neighbours),
            lambda m=month, i=items, nb=neighbours: history_month(  # type: ignore[misc]
                env, snapshot, m, [view(x) for x in i], nb
            ),
        )
    # The incidents the bars name (a few hundred of the 10,000), by id.
    on_days = {i for h in snapshot.histories for day in h.days for i in day.incident_ids}
    by_id = {i: site.placed[i][0] for i in on_days if i in site.placed}
    showcased = {c.id: c for c in snapshot.components if c.showcase}
    for history in snapshot.histories:
        component = showcased.get(history.component_id)
        if component is None:
            continue
        named = tuple(
            (i, by_id[i].name if i in by_id else None)
            for day in history.days
            for i in day.incident_ids
        )
        cid, name = component.id, clean(component.name)
        if carried is not None and cid in carried.rows:
            site.rows[cid] = carried.rows[cid]
        out.page(
            f"uptime/{file_id(cid)}.html",
            (frame, shown(history), named),
            lambda c=name, h=history: _uptime(env, snapshot, site, c, h, by_id),  # type: ignore[misc]
        )
    if carried is not None:
        # Carried over but not made by this build: a month left empty, a component
        # no longer showcased.
        for path in carried.others - site.others:
            site.pop(path, None)
            site.inputs.pop(path, None)
    return site


def _uptime(
    env: jinja2.Environment,
    snapshot: StatusSnapshot,
    site: RenderedSite,
    name: str,
    history: ComponentHistory,
    incidents: Mapping[str, PublicIncident],
) -> bytes:
    """A component's day-by-day page, reusing the rows of its last rendering."""
    cid = history.component_id
    html, site.rows[cid] = uptime_page(env, snapshot, name, history, incidents, site.rows.get(cid))
    return html


def _carry_incidents(
    site: RenderedSite, previous: RenderedSite, place: Callable[[PublicIncident], str]
) -> None:
    """Carries the previous build's incident pages, months and open incidents over to
    ``site``, rendering only the incidents that are new objects (changed or new) and
    dropping those that left the snapshot."""
    incidents, positions = site.incidents, site.positions
    before = previous.positions
    changed = [incidents[positions[k]] for k in positions.keys() - before.keys()]
    replaced = [previous.incidents[before[k]] for k in before.keys() - positions.keys()]
    site.update(previous)
    site.inputs.update(previous.inputs)
    site.placed.update(previous.placed)
    months = dict(previous.months)
    kept_ids = {i.id for i in changed}
    touched: set[str] = set()
    for incident in replaced:
        _, month, path = site.placed[incident.id]
        touched.add(month)
        if incident.id not in kept_ids:  # gone from the snapshot
            del site.placed[incident.id], site[path], site.inputs[path]
    new_months: dict[str, list[PublicIncident]] = {}
    for incident in changed:
        known = site.placed.get(incident.id)
        if known is not None:
            touched.add(known[1])
        new_months.setdefault(place(incident), []).append(incident)
    touched.update(new_months)
    leaving = {i.id for i in replaced}
    for month in touched:
        items = [i for i in months.get(month, ()) if i.id not in leaving]
        items.extend(new_months.get(month, ()))
        if items:
            months[month] = tuple(sorted(items, key=lambda i: positions[id(i)]))
        else:
            months.pop(month, None)
    # Every month's page is checked again by the caller (one whose neighbour came or
    # went changes too); a month left empty loses its page there.
    site.months = months
    still_open = [i for i in previous.open if i.id not in leaving]
    still_open.extend(i for i in changed if i.is_open)
    site.open = tuple(sorted(still_open, key=lambda i: positions[id(i)]))
