"""HTML written in Python for the pages there are thousands of: an incident's page and
the entries of the monthly history. Jinja's context and attribute lookups were most of
the cost of 10,000 incident pages; these functions write the same markup the templates
did. Every string from the snapshot goes through ``escape``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from statuspage.site.views import When


def _time(at: When) -> str:
    return f'<time datetime="{escape(at.iso)}">{escape(at.text)}</time>'


def incident_main(i: Mapping[str, Any]) -> str:
    """An incident page's main content. Written here rather than in a template: Jinja's
    context and attribute lookups were most of the cost of 10,000 pages. Every string
    from the snapshot goes through ``escape``."""
    affects = f" \u00b7 Affects: {escape(i['components'])}" if i["components"] else ""
    end = f", resolved {_time(i['end'])}" if i["end"] else ""
    updates = "".join(
        f'<li><strong>{escape(u["word"])}</strong> <span class="muted">{_time(u["at"])}'
        f'</span><p class="body"><bdi>{escape(u["body"])}</bdi></p>'
        + (f'<p class="meta">{escape(u["affected"])}</p>' if u["affected"] else "")
        + "</li>"
        for u in i["updates"]
    )
    return (
        f"<h1><bdi>{escape(i['name'])}</bdi></h1>\n"
        f'<p class="meta"><strong>{escape(i["word"])}</strong> \u00b7 {escape(i["impact"])}'
        f"{affects}</p>\n"
        f'<p class="meta">Started {_time(i["start"])}{end}.</p>\n'
        '<section aria-labelledby="updates-h">\n<h2 id="updates-h">Updates, newest first</h2>\n'
        f'<ol class="timeline">{updates}</ol>\n</section>\n'
    )


def month_item(i: Mapping[str, Any]) -> Markup:
    """One incident in its month's history: name (linked), status, impact, start,
    components and its last update."""
    components = f" \u00b7 {escape(i['components'])}" if i["components"] else ""
    last = f'<p class="body"><bdi>{escape(i["last"])}</bdi></p>' if i["last"] else ""
    return Markup(  # noqa: S704 - every piece escaped here
        f'<li class="comp"><a href="{escape(i["href"])}"><bdi>{escape(i["name"])}</bdi></a>\n'
        f'<p class="meta"><strong>{escape(i["word"])}</strong> \u00b7 {escape(i["impact"])}'
        f" \u00b7 {_time(i['start'])}{components}</p>\n{last}</li>\n"
    )
