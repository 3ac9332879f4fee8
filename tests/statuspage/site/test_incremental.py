"""A rebuild works on what changed (issue 12: one update under 100 ms, event to files).

``render_site`` given the last rendering carries unchanged pages over and names the files
it made (``fresh``); ``write_site`` given those looks at nothing else. Both must give the
site a whole rendering gives, and a rebuild with nothing new must write no file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from statuspage.model import PublicIncident, PublicIncidentStatus, PublicUpdate, StatusSnapshot
from statuspage.site import RenderedSite, render_site, write_site
from tests.statuspage.site.sample import NOW, incident, snapshot

LATER = NOW + timedelta(minutes=5)
_STAMP = re.compile(rb'Last change to this page: <time datetime="[^"]*">[^<]*</time>')


def _base() -> StatusSnapshot:
    """The sample page with incidents in two more months (one alone in its month)."""
    base = snapshot()
    extra = (
        incident("inc-sep", "Slow search", NOW - timedelta(days=80), components=("web",)),
        incident("inc-aug-1", "Mail delays", NOW - timedelta(days=110), components=("email",)),
        incident("inc-aug-2", "Mail bounces", NOW - timedelta(days=112), components=("email",)),
    )
    return replace(base, incidents=(*base.incidents, *extra))


def _later(base: StatusSnapshot, incidents: tuple[PublicIncident, ...]) -> StatusSnapshot:
    return replace(base, page=replace(base.page, generated_at=LATER), incidents=incidents)


def _updated(i: PublicIncident, status: PublicIncidentStatus) -> PublicIncident:
    update = PublicUpdate(f"{i.id}-new", status, "News.", LATER, LATER)
    return replace(i, status=status, updates=(update, *i.updates), updated_at=LATER)


def _update_open(s: StatusSnapshot) -> StatusSnapshot:
    first, *rest = s.incidents
    return _later(s, (_updated(first, PublicIncidentStatus.MONITORING), *rest))


def _resolve_open(s: StatusSnapshot) -> StatusSnapshot:
    first, *rest = s.incidents
    return _later(s, (_updated(first, PublicIncidentStatus.RESOLVED), *rest))


def _reopen_old(s: StatusSnapshot) -> StatusSnapshot:
    first, old, *rest = s.incidents
    return _later(s, (first, _updated(old, PublicIncidentStatus.INVESTIGATING), *rest))


def _new_incident(s: StatusSnapshot) -> StatusSnapshot:
    new = incident("inc-new", "Checkout down", LATER, status=PublicIncidentStatus.INVESTIGATING)
    return _later(s, (new, *s.incidents))


def _drop_alone_in_its_month(s: StatusSnapshot) -> StatusSnapshot:
    return _later(s, tuple(i for i in s.incidents if i.id != "inc-sep"))


def _drop_one_of_two(s: StatusSnapshot) -> StatusSnapshot:
    return _later(s, tuple(i for i in s.incidents if i.id != "inc-aug-2"))


def _equal_but_new_objects(s: StatusSnapshot) -> StatusSnapshot:
    return _later(s, tuple(replace(i) for i in s.incidents))


def _rename_component(s: StatusSnapshot) -> StatusSnapshot:
    first, *rest = s.components
    return replace(_later(s, s.incidents), components=(replace(first, name="Public API"), *rest))


CHANGES: dict[str, Callable[[StatusSnapshot], StatusSnapshot]] = {
    # An operator's update of an open incident: the common case.
    "update open": _update_open,
    # Resolved: it leaves the open lists (front page, unresolved.json).
    "resolve open": _resolve_open,
    # A resolved incident opens again: it joins the open lists, in the snapshot's order.
    "reopen old": _reopen_old,
    # A new incident in a new month: a new month page, its neighbour's links change.
    "new incident": _new_incident,
    # The only incident of a month leaves the history: the month's page goes.
    "drop alone": _drop_alone_in_its_month,
    # One of a month's two incidents leaves: the month's page changes, stays.
    "drop one": _drop_one_of_two,
    # A full read of the store decodes every incident again: equal values, new objects.
    "same values": _equal_but_new_objects,
    # A component's name is on every page: everything is rendered again.
    "rename component": _rename_component,
}


def _unstamped(site: RenderedSite) -> dict[str, bytes]:
    return {path: _STAMP.sub(b"", data) for path, data in site.items()}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_rebuild_gives_the_site_a_whole_rendering_gives(
    change: Callable[[StatusSnapshot], StatusSnapshot],
) -> None:
    before = _base()
    first = render_site(before)
    after = change(before)
    second = render_site(after, first)
    assert _unstamped(second) == _unstamped(render_site(after))
    # Whatever differs from the last rendering is named, so the writer looks at it.
    differing = {p for p in second if p not in first or second[p] is not first[p]}
    assert differing <= second.fresh


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_rebuild_writes_what_a_whole_write_would(
    change: Callable[[StatusSnapshot], StatusSnapshot], tmp_path: Path
) -> None:
    before = _base()
    first = render_site(before)
    write_site(tmp_path / "a", first)
    write_site(tmp_path / "b", first)
    second = render_site(change(before), first)
    write_site(tmp_path / "a", second, first, second.fresh)
    write_site(tmp_path / "b", second)  # compared with the disk, file by file
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    assert files_a == files_b
    for path in files_a:
        if (tmp_path / "a" / path).is_file():
            assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()


def test_a_rebuild_with_nothing_new_writes_no_file(tmp_path: Path) -> None:
    # Before: the front page said when it was generated, so every rebuild rewrote it.
    before = _base()
    first = render_site(before)
    write_site(tmp_path, first)
    second = render_site(_later(before, before.incidents), first)
    assert dict(second) == dict(first)
    assert write_site(tmp_path, second, first, second.fresh).written == ()


def test_the_front_page_tells_when_it_last_changed() -> None:
    before = _base()
    first = render_site(before)
    stamp = f'Last change to this page: <time datetime="{NOW.isoformat()}">'
    assert stamp in first["index.html"].decode()
    # Nothing new an hour later: still the time it last changed, not the build's.
    quiet = replace(before, page=replace(before.page, generated_at=NOW + timedelta(hours=1)))
    assert stamp in render_site(quiet, first)["index.html"].decode()
    # An update: the time of the rendering that changed it.
    changed = render_site(_update_open(before), first)["index.html"].decode()
    assert f'Last change to this page: <time datetime="{LATER.isoformat()}">' in changed


def test_the_writer_looks_only_at_the_paths_named_changed(tmp_path: Path) -> None:
    files = {"index.html": b"a", "badge.svg": b"b", "incidents/x.html": b"x"}
    write_site(tmp_path, files)
    now = {"index.html": b"a2", "badge.svg": b"b2", "incidents/y.html": b"y"}
    result = write_site(tmp_path, now, files, {"index.html", "incidents/y.html"})
    # badge.svg was not named: taken as unchanged. y is new. x is gone: removed.
    assert result.written == ("incidents/y.html", "index.html")
    assert result.removed == ("incidents/x.html",)
    assert (tmp_path / "badge.svg").read_bytes() == b"b"
    assert not (tmp_path / "incidents/x.html").exists()
    listed = (tmp_path / ".tocsin-site").read_text().splitlines()
    assert listed == ["badge.svg", "incidents/y.html", "index.html"]


def test_an_update_makes_only_its_incidents_feed_entries_and_json() -> None:
    before = _base()
    first = render_site(before)
    second = render_site(_update_open(before), first)
    assert second.api["inc-old"][2] is first.api["inc-old"][2]
    assert second.api["inc-open"][2] is not first.api["inc-open"][2]
    for entries, earlier in ((second.atom, first.atom), (second.rss, first.rss)):
        assert entries["inc-old"] is earlier["inc-old"]
        assert entries["inc-open"] is not earlier["inc-open"]
        assert "News." in entries["inc-open"][2]


def test_the_writer_removes_gone_paths_when_as_many_are_added(tmp_path: Path) -> None:
    files = {"index.html": b"a", "incidents/x.html": b"x"}
    write_site(tmp_path, files)
    now = {"index.html": b"a", "incidents/y.html": b"y"}  # as many paths as before
    result = write_site(tmp_path, now, files, {"incidents/y.html"})
    assert (result.written, result.removed) == (("incidents/y.html",), ("incidents/x.html",))
    assert (tmp_path / ".tocsin-site").read_text().splitlines() == [
        "incidents/y.html",
        "index.html",
    ]
