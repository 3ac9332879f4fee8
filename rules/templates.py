"""Text templates in the rules: incident titles, notification text, public incident text.

Templates are Jinja2, compiled once when the rules load, in a sandbox (no attribute
access to Python internals, no mutation) with StrictUndefined, and every render is held
to a resource budget of steps, characters and time (``rules.template_budget``). Each
kind of template sees a fixed set of variables; a template that names another one, fails
to compile, or fails or exceeds its budget on sample values is a load error, so a
mistake is found by ``tocsin check`` and not when an incident opens. Public text sees no
alert data at all: labels and annotations are internal (hostnames, IPs, tokens) and never
reach customers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import jinja2
import jinja2.meta

from rules.template_budget import BudgetExceeded, BudgetSandbox, add_budget, render_within_budget


class TemplateKind(enum.Enum):
    """What a template writes, which decides the variables it may use."""

    TITLE = "title"  # the incident title, from the first alert's labels
    NOTIFICATION = "notification"  # a page or message to a person or channel
    PUBLIC = "public"  # status page text, read by customers


class LabelView(dict[str, str]):
    """A label mapping in which an absent label reads as the empty string, as in matchers."""

    def __missing__(self, key: str) -> str:
        return ""


_INCIDENT_FIELDS = (
    "id",
    "title",
    "state",
    "category",
    "service",
    "team",
    "impact",
    "urgency",
    "priority",
    "opened_at",
    "url",
)
_SAMPLE_INCIDENT = {name: f"sample-{name}" for name in _INCIDENT_FIELDS}

VARIABLES: Mapping[TemplateKind, frozenset[str]] = {
    TemplateKind.TITLE: frozenset(
        {"labels", "annotations", "category", "service", "team", "priority", "alert_count"}
    ),
    TemplateKind.NOTIFICATION: frozenset(
        {"incident", "labels", "annotations", "alert_count", "level", "recipient"}
    ),
    TemplateKind.PUBLIC: frozenset({"components", "status", "page", "impact"}),
}

_SAMPLES: Mapping[TemplateKind, Mapping[str, object]] = {
    TemplateKind.TITLE: {
        "labels": LabelView(alertname="SampleAlert"),
        "annotations": LabelView(),
        "category": "sample",
        "service": "sample",
        "team": "sample",
        "priority": "P3",
        "alert_count": 1,
    },
    TemplateKind.NOTIFICATION: {
        "incident": _SAMPLE_INCIDENT,
        "labels": LabelView(alertname="SampleAlert"),
        "annotations": LabelView(),
        "alert_count": 1,
        "level": 1,
        "recipient": "sample",
    },
    TemplateKind.PUBLIC: {
        "components": ["Sample component"],
        "status": "investigating",
        "page": "Sample status page",
        "impact": "minor",
    },
}


@dataclass(frozen=True, slots=True)
class Template:
    """One compiled template and its source text."""

    source: str
    kind: TemplateKind
    compiled: jinja2.Template = field(compare=False, repr=False)

    def render(self, context: Mapping[str, object], fallback: str = "") -> str:
        """Renders with ``context``; labels and annotations read absent keys as ''.

        Templates were rendered on sample values at load, so failing here takes an
        unusual value; the pipeline must not stop for a title, so ``fallback`` is returned.
        """
        values = dict(context)
        for name in ("labels", "annotations"):
            given = values.get(name)
            if isinstance(given, Mapping):
                values[name] = LabelView(given)
        try:
            return render_within_budget(lambda: self.compiled.render(values))
        except Exception:  # any template failure, or going over budget, gives the fallback
            return fallback


class TemplateCompiler:
    """Compiles and checks templates; one per load, so nothing is shared between loads."""

    def __init__(self) -> None:
        self._env = BudgetSandbox(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        self._compiled: dict[tuple[str, TemplateKind], Template] = {}

    def compile(self, source: str, kind: TemplateKind) -> Template:
        """Compiles ``source`` as a ``kind`` template; raises ValueError saying what is wrong."""
        # The default texts are compiled for every file that leaves one out; once is enough.
        known = self._compiled.get((source, kind))
        if known is None:
            known = self._compiled[source, kind] = self._compile(source, kind)
        return known

    def _compile(self, source: str, kind: TemplateKind) -> Template:
        try:
            parsed = self._env.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"template line {exc.lineno}: {exc.message}") from exc
        except RecursionError as exc:
            raise ValueError("template is nested too deeply") from exc
        allowed = VARIABLES[kind]
        try:
            used = jinja2.meta.find_undeclared_variables(parsed)
        except jinja2.TemplateSyntaxError as exc:  # e.g. an unknown filter
            raise ValueError(f"template line {exc.lineno}: {exc.message}") from exc
        unknown = sorted(used - allowed)
        if unknown:
            hint = " (public text may not use alert data)" if kind is TemplateKind.PUBLIC else ""
            raise ValueError(
                f"template uses unknown variable(s) {', '.join(unknown)}{hint}; "
                f"{kind.value} templates may use {', '.join(sorted(allowed))}"
            )
        try:
            compiled = self._env.from_string(add_budget(parsed))
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"template line {exc.lineno}: {exc.message}") from exc
        except RecursionError as exc:
            raise ValueError("template is nested too deeply") from exc
        samples = dict(_SAMPLES[kind])
        try:
            render_within_budget(lambda: compiled.render(samples))
        except BudgetExceeded as exc:
            raise ValueError(f"template exceeds its resource budget: {exc}") from exc
        except Exception as exc:  # any failure on samples is a load error
            raise ValueError(f"template fails on sample values: {exc}") from exc
        return Template(source, kind, compiled)


@dataclass(frozen=True, slots=True)
class NotificationTemplates:
    """The text of a notification: a subject (or first line) and a body."""

    subject: Template
    body: Template


@dataclass(frozen=True, slots=True)
class IncidentTemplates:
    """The rules' default texts: the incident title and the notification text."""

    title: Template
    notification: NotificationTemplates
