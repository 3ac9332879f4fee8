"""``history.atom`` and ``history.rss``: the 50 most recent incidents, built with an XML library.

Atom's title and content are ``type="text"``, so readers never take them as markup. RSS
has no such switch and many readers render ``title`` and ``description`` as HTML: their
text (the channel's and each item's) is HTML-escaped first, then escaped again as XML by
ElementTree.
"""

from __future__ import annotations

import html
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


def atom(snapshot: StatusSnapshot) -> bytes:
    """The Atom feed of incident history."""
    ET.register_namespace("", ATOM)
    base = snapshot.page.url.rstrip("/")
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base}/history.atom"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{clean(snapshot.page.name)} incident history"
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/index.html", rel="alternate")
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/history.atom", rel="self")
    incidents = snapshot.incidents[:LIMIT]
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _changed(snapshot).isoformat()
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = clean(snapshot.page.name)
    for incident in incidents:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        link = _link(snapshot, incident)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = link
        ET.SubElement(entry, f"{{{ATOM}}}title").text = clean(incident.name)
        ET.SubElement(entry, f"{{{ATOM}}}link", href=link, rel="alternate")
        ET.SubElement(entry, f"{{{ATOM}}}published").text = incident.created_at.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = incident.updated_at.isoformat()
        content = ET.SubElement(entry, f"{{{ATOM}}}content", type="text")
        content.text = _summary(incident, snapshot)
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def rss(snapshot: StatusSnapshot) -> bytes:
    """The RSS 2.0 feed of incident history (Statuspage serves one at ``history.rss``)."""
    base = snapshot.page.url.rstrip("/")
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    name = html.escape(clean(snapshot.page.name))  # as the items' text: readers take HTML
    ET.SubElement(channel, "title").text = f"{name} incident history"
    ET.SubElement(channel, "link").text = f"{base}/index.html"
    ET.SubElement(channel, "description").text = f"Incidents of {name}, newest first"
    incidents = snapshot.incidents[:LIMIT]
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(_changed(snapshot))
    for incident in incidents:
        item = ET.SubElement(channel, "item")
        link = _link(snapshot, incident)
        ET.SubElement(item, "title").text = html.escape(clean(incident.name))
        ET.SubElement(item, "link").text = link
        ET.SubElement(item, "guid", isPermaLink="true").text = link
        ET.SubElement(item, "pubDate").text = format_datetime(incident.created_at)
        paragraphs = _summary(incident, snapshot).split("\n\n")
        ET.SubElement(item, "description").text = "".join(
            f"<p>{html.escape(p)}</p>" for p in paragraphs
        )
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
