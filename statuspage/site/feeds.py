"""``history.atom`` and ``history.rss``: the 50 most recent incidents, built with an XML library.

Atom's title and content are ``type="text"``, so readers never take them as markup. RSS
has no such switch and many readers render ``title`` and ``description`` as HTML: their
text (the channel's and each item's) is HTML-escaped first, then escaped again as XML by
ElementTree.

Each incident's entry is serialised on its own and kept (``Entries``): a build after one
update serialises that incident's entry and the feed's head, and reuses the other 49.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Hashable
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from statuspage.model import PublicIncident, StatusSnapshot
from statuspage.site.text import INCIDENT_WORDS, clean, file_id, format_time

LIMIT = 50
ATOM = "http://www.w3.org/2005/Atom"


def _summary(incident: PublicIncident, snapshot: StatusSnapshot) -> str:
    """The incident's updates, newest first, one paragraph each."""
    zone = snapshot.page.time_zone
    return "\n\n".join(
        f"{INCIDENT_WORDS[u.status]} ({format_time(u.display_at, zone)}): {clean(u.body)}"
        for u in incident.updates
    )


def _link(snapshot: StatusSnapshot, incident: PublicIncident) -> str:
    return f"{snapshot.page.url.rstrip('/')}/incidents/{file_id(incident.id)}.html"


def _changed(snapshot: StatusSnapshot) -> datetime:
    """When the feed's content last changed, not the build: it moves only with an
    incident (with none yet, the page's components' last change, fixed between builds)."""
    incidents = snapshot.incidents[:LIMIT]
    if incidents:
        return max(i.updated_at for i in incidents)
    return max((c.updated_at for c in snapshot.components), default=snapshot.page.generated_at)


# Per incident id: what its entry was made of (the page's URL and zone, the incident)
# and the entry as XML.
Entries = dict[str, tuple[Hashable, PublicIncident, str]]
_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def _document(
    snapshot: StatusSnapshot,
    root: ET.Element,
    closing: str,
    entry: Callable[[StatusSnapshot, PublicIncident], ET.Element],
    cache: Entries | None,
) -> tuple[bytes, Entries]:
    """``root`` (the feed's head, no entries yet) with one ``entry`` per incident put
    before its ``closing`` tags, reusing ``cache``'s entries of the same incidents; and
    the entries, for the next build."""
    key = (snapshot.page.url, snapshot.page.time_zone.key)
    made: Entries = {}
    for incident in snapshot.incidents[:LIMIT]:
        cached = cache.get(incident.id) if cache else None
        if cached is not None and cached[1] is incident and cached[0] == key:
            made[incident.id] = cached
        else:
            xml = ET.tostring(entry(snapshot, incident), encoding="unicode")
            made[incident.id] = (key, incident, xml)
    head = ET.tostring(root, encoding="unicode")
    assert head.endswith(closing)  # the head has children: it has its end tags
    entries = "".join(xml for _, _, xml in made.values())
    return (_DECLARATION + head.removesuffix(closing) + entries + closing).encode(), made


def atom(snapshot: StatusSnapshot, cache: Entries | None = None) -> tuple[bytes, Entries]:
    """The Atom feed of incident history; and its entries, for the next build to reuse
    (``cache``: the last build's)."""
    base = snapshot.page.url.rstrip("/")
    # The default namespace declared on the root applies to every element in it: the
    # elements are made without it, so that each entry serialises on its own as it
    # would inside the feed.
    feed = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(feed, "id").text = f"{base}/history.atom"
    ET.SubElement(feed, "title").text = f"{clean(snapshot.page.name)} incident history"
    ET.SubElement(feed, "link", href=f"{base}/index.html", rel="alternate")
    ET.SubElement(feed, "link", href=f"{base}/history.atom", rel="self")
    ET.SubElement(feed, "updated").text = _changed(snapshot).isoformat()
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = clean(snapshot.page.name)
    return _document(snapshot, feed, "</feed>", _atom_entry, cache)


def _atom_entry(snapshot: StatusSnapshot, incident: PublicIncident) -> ET.Element:
    entry = ET.Element("entry")
    link = _link(snapshot, incident)
    ET.SubElement(entry, "id").text = link
    ET.SubElement(entry, "title").text = clean(incident.name)
    ET.SubElement(entry, "link", href=link, rel="alternate")
    ET.SubElement(entry, "published").text = incident.created_at.isoformat()
    ET.SubElement(entry, "updated").text = incident.updated_at.isoformat()
    content = ET.SubElement(entry, "content", type="text")
    content.text = _summary(incident, snapshot)
    return entry


def rss(snapshot: StatusSnapshot, cache: Entries | None = None) -> tuple[bytes, Entries]:
    """The RSS 2.0 feed of incident history (Statuspage serves one at ``history.rss``);
    and its items, for the next build to reuse (``cache``: the last build's)."""
    base = snapshot.page.url.rstrip("/")
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    name = html.escape(clean(snapshot.page.name))  # as the items' text: readers take HTML
    ET.SubElement(channel, "title").text = f"{name} incident history"
    ET.SubElement(channel, "link").text = f"{base}/index.html"
    ET.SubElement(channel, "description").text = f"Incidents of {name}, newest first"
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(_changed(snapshot))
    return _document(snapshot, root, "</channel></rss>", _rss_item, cache)


def _rss_item(snapshot: StatusSnapshot, incident: PublicIncident) -> ET.Element:
    item = ET.Element("item")
    link = _link(snapshot, incident)
    ET.SubElement(item, "title").text = html.escape(clean(incident.name))
    ET.SubElement(item, "link").text = link
    ET.SubElement(item, "guid", isPermaLink="true").text = link
    ET.SubElement(item, "pubDate").text = format_datetime(incident.created_at)
    paragraphs = _summary(incident, snapshot).split("\n\n")
    ET.SubElement(item, "description").text = "".join(
        f"<p>{html.escape(p)}</p>" for p in paragraphs
    )
    return item
