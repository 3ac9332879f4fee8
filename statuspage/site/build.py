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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable

import jinja2

from statuspage.model import PublicIncident, StatusSnapshot
from statuspage.site.api import ApiDocuments
from statuspage.site.badge import badge
from statuspage.site.bars import shown
from statuspage.site.feeds import atom, rss
from statuspage.site.pages import (
    Bars,
    Frame,
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
        self.site.inputs[path] = inputs


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
    site["index.html"], site.bars = front_page(env, snapshot, previous.bars if previous else None)
    site.update(ApiDocuments(snapshot).documents())
    site["history.atom"] = atom(snapshot)
    site["history.rss"] = rss(snapshot)
    site["badge.svg"] = badge(env, snapshot)
    site["style.css"] = stylesheet(env)

    page = snapshot.page
    # Any change of a component's name re-renders every page that names components:
    # rare, and much cheaper to compare than each page's own names.
    frame: Hashable = (
        page.name,
        page.url,
        page.time_zone.key,
        tuple((c.id, c.name) for c in snapshot.components),
    )
    same_frame = previous is not None and previous.frame == frame
    if same_frame:
        assert previous is not None
        frame = previous.frame  # the same object: each page's inputs compare by identity
    site.frame = frame
    zone = page.time_zone
    names = names_of(snapshot)
    incident_frame = Frame(env, snapshot, "../")
    views: dict[str, dict[str, object]] = {}

    def view(incident: PublicIncident) -> dict[str, object]:
        made = views.get(incident.id)
        if made is None:
            made = views[incident.id] = incident_view(incident, zone, names, "../")
        return made

    months: dict[str, list[PublicIncident]] = defaultdict(list)
    placed = previous.placed if previous is not None and same_frame else {}
    for incident in snapshot.incidents:
        known = placed.get(incident.id)
        if known is not None and known[0] is incident:
            # Unchanged since the last build (the same object): its page as it was.
            _, month, path = known
            months[month].append(incident)
            assert previous is not None
            site[path] = previous[path]
            site.inputs[path] = previous.inputs[path]
            site.placed[incident.id] = known
            continue
        started = incident.started_at.astimezone(zone)
        month = f"{started.year:04d}-{started.month:02d}"
        months[month].append(incident)
        path = f"incidents/{file_id(incident.id)}.html"
        out.page(
            path,
            (frame, incident),
            lambda i=incident: incident_page(env, incident_frame, view(i)),  # type: ignore[misc]
        )
        site.placed[incident.id] = (incident, month, path)
    ordered = sorted(months, reverse=True)
    counts = {m: len(months[m]) for m in ordered}
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
        items = tuple(months[month])
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
        name = clean(component.name)
        out.page(
            f"uptime/{file_id(component.id)}.html",
            (frame, shown(history), named),
            lambda c=name, h=history: uptime_page(env, snapshot, c, h, by_id),  # type: ignore[misc]
        )
    return site
