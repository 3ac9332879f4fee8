"""The HTML pages of action links: a confirmation form, the outcome, and why a link fails.

Rendered with Jinja2 autoescape (incident titles come from alerts: any text), served
with a strict Content-Security-Policy: no script at all, the one inline style allowed
by its hash, forms posting only to Tocsin itself, no framing. ``Referrer-Policy:
no-referrer`` keeps the token (the URL is the credential) out of other sites' logs, and
``Cache-Control: no-store`` out of caches.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import jinja2
from aiohttp import web
from markupsafe import Markup

from core.incident import Incident
from core.lifecycle_requests import MAX_NOTES
from escalation.action_links import LinkAction

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b}dt{font-weight:600}dd{margin:0 0 .5rem}label{display:block;margin:.75rem 0}"
    "textarea,select{display:block;width:100%;font:inherit}textarea{min-height:5rem}"
    "button{font:inherit;padding:.5rem 1rem;margin-top:1rem}.problem{color:#a00000}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ heading }} - Tocsin</title>
<style>{{ style }}</style>
</head>
<body>
<main>
<h1>{{ heading }}</h1>
<p>{{ message }}</p>
{% for problem in problems %}<p class="problem">{{ problem }}</p>
{% endfor %}
{%- if incident %}
<dl>
<dt>Incident</dt><dd>{{ incident.id }}</dd>
<dt>Title</dt><dd>{{ incident.title }}</dd>
<dt>State</dt><dd>{{ incident.state.value }}</dd>
<dt>Priority</dt><dd>{{ incident.priority or "none" }}</dd>
<dt>Service</dt><dd>{{ incident.service or "none" }}</dd>
</dl>
{%- endif %}
{%- if form %}
<form method="post">
{%- if form.action == "resolve" %}
<label>Resolution code
<select name="resolution_code">
{%- for code in form.codes %}<option>{{ code }}</option>{% endfor %}
</select></label>
<label>Notes (required)
<textarea name="notes" required maxlength="{{ notes_limit }}"></textarea></label>
{%- else %}
<label>Note (optional)
<textarea name="note" maxlength="{{ notes_limit }}"></textarea></label>
{%- endif %}
<button type="submit">{{ form.button }}</button>
</form>
{%- endif %}
</main>
</body>
</html>
"""

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_PAGE)


@dataclass(frozen=True, slots=True)
class Form:
    """The confirmation form: which action, its button, the resolution codes to offer."""

    action: LinkAction
    codes: Sequence[str] = ()

    @property
    def button(self) -> str:
        return "Acknowledge" if self.action is LinkAction.ACKNOWLEDGE else "Resolve"


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its status, heading, message, and optionally the incident and the form."""

    status: int
    heading: str
    message: str
    incident: Incident | None = None
    form: Form | None = None
    problems: Sequence[str] = field(default_factory=tuple)

    def response(self) -> web.Response:
        """The page as an HTML answer with the security headers."""
        text = _TEMPLATE.render(
            heading=self.heading,
            message=self.message,
            incident=self.incident,
            form=self.form,
            problems=self.problems,
            notes_limit=MAX_NOTES,
            # A constant of this module, allowed by its hash in the CSP.
            style=Markup(_STYLE),  # noqa: S704
        )
        return web.Response(
            text=text, status=self.status, content_type="text/html", headers=HEADERS
        )
