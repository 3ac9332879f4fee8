"""``badge.svg``: the overall status as a small shields-style image, in words and colour."""

from __future__ import annotations

import jinja2

from statuspage.model import Indicator, StatusSnapshot

# Dark enough for white text (contrast >= 4.5:1).
COLOURS = {
    Indicator.NONE: "#1a7f37",
    Indicator.MINOR: "#9a6700",
    Indicator.MAJOR: "#bc4c00",
    Indicator.CRITICAL: "#cf222e",
}
# Verdana 11px is about 7 px per character; the badge only needs to be roughly right.
_CHAR = 7


def badge(env: jinja2.Environment, snapshot: StatusSnapshot) -> bytes:
    """The SVG badge, with a ``<title>`` and an aria-label saying the status in words."""
    label, text = "status", snapshot.description
    left = len(label) * _CHAR + 12
    right = len(text) * _CHAR + 12
    return (
        env.get_template("badge.svg")
        .render(
            label=label,
            text=text,
            left=left,
            right=right,
            width=left + right,
            colour=COLOURS[snapshot.indicator],
        )
        .encode()
    )
