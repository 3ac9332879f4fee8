"""The texts and settings used where the rules leave something out."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rules.status import PublicTemplates, StatusPage
from rules.templates import (
    IncidentTemplates,
    NotificationTemplates,
    TemplateCompiler,
    TemplateKind,
)

# Prometheus alerts have an alertname; PagerDuty and webhook alerts a summary instead.
TITLE = (
    "{{ labels.alertname or annotations.summary or 'Alert' }}"
    "{% if service %} ({{ service }}){% endif %}"
)
NOTIFICATION_SUBJECT = "[{{ incident.priority }}] {{ incident.title }}"
NOTIFICATION_BODY = """\
{{ incident.title }}
Priority {{ incident.priority }}, {{ incident.category }}{% if incident.service %}, \
service {{ incident.service }}{% endif %}; {{ alert_count }} alert(s).
{% if annotations.summary %}{{ annotations.summary }}
{% endif %}{{ incident.url }}"""

PUBLIC = {
    "title": "{% if components %}Problems with {{ components | join(', ') }}"
    "{% else %}Service disruption{% endif %}",
    "investigating": "We are investigating reports of problems"
    "{% if components %} with {{ components | join(', ') }}{% endif %}.",
    "identified": "The cause has been identified and a fix is being worked on.",
    "monitoring": "A fix has been applied and we are monitoring the results.",
    "resolved": "This incident has been resolved.",
}


def incident_templates(
    compiler: TemplateCompiler,
    title: str = TITLE,
    subject: str = NOTIFICATION_SUBJECT,
    body: str = NOTIFICATION_BODY,
) -> IncidentTemplates:
    """Compiles the incident texts, with the defaults for any not given."""
    return IncidentTemplates(
        title=compiler.compile(title, TemplateKind.TITLE),
        notification=NotificationTemplates(
            subject=compiler.compile(subject, TemplateKind.NOTIFICATION),
            body=compiler.compile(body, TemplateKind.NOTIFICATION),
        ),
    )


def public_templates(compiler: TemplateCompiler) -> PublicTemplates:
    """Compiles the default public incident texts."""
    return PublicTemplates(
        **{name: compiler.compile(text, TemplateKind.PUBLIC) for name, text in PUBLIC.items()}
    )


def status_page(compiler: TemplateCompiler) -> StatusPage:
    """A status page with no components, for rules that define none."""
    return StatusPage(
        name="Status",
        url="",
        time_zone=ZoneInfo("UTC"),
        components=(),
        groups=(),
        templates=public_templates(compiler),
    )
