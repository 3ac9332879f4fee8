"""Readable text of the operator API's incident JSON for ``tocsin incidents``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from escalation.timeline import describe

# The title is the last column; longer titles are cut so that a row fits a line.
TITLE_WIDTH = 60
_COLUMNS = ("ID", "STATE", "PRI", "SERVICE", "TEAM", "ASSIGNEE", "OPENED", "ALERTS", "TITLE")


def _text(value: object) -> str:
    # One line per row: a title with a newline or tab would break the table. Text comes
    # from alerts and people: a control character (ESC starting a terminal sequence that
    # clears the screen or sets the title, a bidi override) is shown as U+FFFD, not run.
    if value is None or value == "":
        return "-"
    line = " ".join(str(value).split())
    return line if line.isprintable() else "".join(c if c.isprintable() else "\ufffd" for c in line)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _alerts(incident: Mapping[str, Any]) -> str:
    counts = incident.get("counts") or {}
    return f"{counts.get('firing', 0)}/{counts.get('alerts', 0)}"


def incidents_table(incidents: Sequence[Mapping[str, Any]]) -> str:
    """A table of incidents, one per line, columns aligned; says so when there are none."""
    if not incidents:
        return "no incidents\n"
    rows = [
        (
            _text(i.get("id")),
            _text(i.get("state")),
            _text(i.get("priority")),
            _text(i.get("service")),
            _text(i.get("team")),
            _text(i.get("assignee")),
            _text(i.get("opened_at")),
            _alerts(i),
            _cut(_text(i.get("title")), TITLE_WIDTH),
        )
        for i in incidents
    ]
    widths = [max(len(row[c]) for row in [_COLUMNS, *rows]) for c in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [_COLUMNS, *rows]
    ]
    return "\n".join(lines) + "\n"


_FIELDS = (
    ("state", "state"),
    ("priority", "priority"),
    ("impact", "impact"),
    ("urgency", "urgency"),
    ("category", "category"),
    ("service", "service"),
    ("team", "team"),
    ("assignee", "assignee"),
    ("opened_at", "opened"),
    ("acknowledged_at", "acknowledged"),
    ("acknowledged_by", "acknowledged by"),
    ("hold_reason", "on hold because"),
    ("resolved_at", "resolved"),
    ("resolved_by", "resolved by"),
    ("resolution_code", "resolution code"),
    ("resolution_notes", "resolution notes"),
    ("closed_at", "closed"),
    ("closed_by", "closed by"),
    ("problem_id", "problem"),
    ("merged_into", "merged into"),
    ("version", "version"),
)


def incident_text(incident: Mapping[str, Any], *, full: bool) -> str:
    """An incident as ``key: value`` lines; ``full`` adds its tasks, alerts and timeline."""
    lines = [f"{_text(incident.get('id'))}  {_text(incident.get('title'))}"]
    width = max(len(label) for _, label in _FIELDS)
    for key, label in _FIELDS:
        value = incident.get(key)
        if value is not None and value != "":
            lines.append(f"  {label.ljust(width)}  {_text(value)}")
    lines.append(f"  {'alerts'.ljust(width)}  {_alerts(incident)} firing")
    allowed = incident.get("allowed_actions")
    if isinstance(allowed, list):
        lines.append(f"  {'next actions'.ljust(width)}  {', '.join(allowed) or 'none'}")
    if full:
        lines += _tasks(incident.get("tasks"))
        lines += _alert_lines(incident)
        lines += _timeline(incident.get("timeline"))
    return "\n".join(lines) + "\n"


def _tasks(tasks: object) -> list[str]:
    if not isinstance(tasks, list) or not tasks:
        return []
    lines = ["", "tasks:"]
    for task in tasks:
        done = "x" if task.get("completed_at") else " "
        lines.append(f"  [{done}] {_text(task.get('id'))}  {_text(task.get('title'))}")
    return lines


def _alert_lines(incident: Mapping[str, Any]) -> list[str]:
    alerts = incident.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        return []
    lines = ["", "alerts:"]
    for alert in alerts:
        labels = alert.get("labels") or {}
        shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        lines.append(f"  {_text(alert.get('status')).ljust(8)}  {_cut(_text(shown), 100)}")
    total = (incident.get("counts") or {}).get("alerts", len(alerts))
    if total > len(alerts):
        lines.append(f"  ... and {total - len(alerts)} more")
    return lines


def _timeline(timeline: object) -> list[str]:
    if not isinstance(timeline, list) or not timeline:
        return []
    lines = ["", "timeline:"]
    for event in timeline:
        detail = event.get("detail") or {}
        said = next(
            (detail[k] for k in ("text", "note", "reason", "notes") if detail.get(k)), ""
        )
        at, actor, kind = (_text(event.get(k)) for k in ("at", "actor", "kind"))
        # Escalation's notes (paged, delivery_failed, ...) say who, where and how it went.
        said = describe(kind, detail) or said
        line = f"  {at}  {actor}  {kind}"
        lines.append(f"{line}  {_cut(_text(said), 80)}" if said else line)
    return lines


def answer_json(answer: object) -> str:
    """The server's answer as indented JSON for ``--output json``, safe on a terminal.

    Every character beyond ASCII is escaped (``\\u009b``, ``\\u202e``): JSON itself
    escapes only the 7-bit controls, and an alert's text must not drive the terminal
    through the 8-bit ones or reverse a line with a bidi override. ``jq`` and every
    JSON reader decode the escapes.
    """
    return json.dumps(answer, indent=2) + "\n"
