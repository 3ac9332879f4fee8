"""The public status site: static HTML, Statuspage-compatible JSON, feeds and a badge,
rendered from a ``StatusSnapshot`` only (``render_site``) and written to a directory
(``write_site``), changed files only, atomically."""

from statuspage.site.build import RenderedSite, render_site
from statuspage.site.writer import WriteResult, write_site

__all__ = ["RenderedSite", "WriteResult", "render_site", "write_site"]
