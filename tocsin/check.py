"""``tocsin check PATH [--format json] [--explain ALERT.json] [--resolve-secrets]``.

Validates and explains rules. Like ``amtool check-config`` in a CI job, it checks
structure and references without reading secrets (the environment variables and files
they name); ``--resolve-secrets`` reads them too, as ``tocsin serve`` does at start.

Exit codes: 0 the rules are valid, 1 they are not (every problem listed), 2 the alert
file for ``--explain`` cannot be read.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core.errors import RuleError
from rules.durations import format_duration
from rules.explain import Explanation, alerts_from_json, explain
from rules.loader import load_rules
from rules.priority import SlaClock, SlaTarget, priority_name
from rules.summary import ended, find_secrets, summarise


def run_check(
    path: Path,
    fmt: str = "text",
    explain_path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    resolve_secrets: bool = False,
) -> int:
    """Loads the rules at ``path``, prints a summary or the problems, and explains alerts.

    Secrets are only checked as references unless ``resolve_secrets``. The output is
    written when complete, and a reader that went away (``tocsin check ... | head``)
    ends it quietly with the same exit code.
    """
    text_out, text_err = io.StringIO(), io.StringIO()
    code = _check(path, fmt, explain_path, env, now, text_out, text_err, resolve_secrets)
    _deliver(text_err.getvalue(), err or sys.stderr)
    _deliver(text_out.getvalue(), out or sys.stdout)
    return code


def _deliver(text: str, stream: TextIO) -> None:
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        # The reader has closed the pipe. What was not written is dropped; the stream
        # is pointed at /dev/null so that the interpreter's last flush cannot fail too.
        try:
            fileno = stream.fileno()
        except (OSError, ValueError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)


def _check(
    path: Path,
    fmt: str,
    explain_path: Path | None,
    env: Mapping[str, str] | None,
    now: datetime | None,
    out: TextIO,
    err: TextIO,
    resolve_secrets: bool,
) -> int:
    try:
        rules = load_rules(path, env, resolve_secrets=resolve_secrets)
    except RuleError as exc:
        if fmt == "json":
            problems = [
                {"file": p.file, "line": p.line, "key": p.key, "message": p.message}
                for p in exc.problems
            ]
            _print_json({"valid": False, "path": str(path), "problems": problems}, out)
        else:
            for problem in exc.problems:
                print(problem, file=err)
            print(f"{len(exc.problems)} problem(s) in {path}", file=err)
        return 1
    at = now or datetime.now(UTC)  # the edge of the program: the wall clock is read here
    summary = summarise(rules)
    warnings = [*summary.warnings, *ended(rules, at)]
    secrets = [s.origin for s in find_secrets(rules)]
    explanations: list[Explanation] = []
    if explain_path is not None:
        try:
            alerts = alerts_from_json(json.loads(explain_path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            # json.JSONDecodeError is a ValueError too.
            print(f"tocsin check: cannot read {explain_path}: {exc}", file=err)
            return 2
        explanations = [explain(rules, alert, at) for alert in alerts]
    if fmt == "json":
        document: dict[str, Any] = {
            "valid": True,
            "path": str(path),
            "summary": {name: {"count": n, "detail": d} for name, n, d in summary.sections},
            "secrets": {"resolved": resolve_secrets, "references": secrets},
            "warnings": warnings,
        }
        if explain_path is not None:
            document["explain"] = [_explanation_json(e) for e in explanations]
        _print_json(document, out)
        return 0
    print(f"{path}: OK", file=out)
    for name, count, detail in summary.sections:
        print(f"  {name}: {count}" + (f" ({detail})" if detail else ""), file=out)
    print(f"  secrets: {_secrets_text(secrets, resolve_secrets)}", file=out)
    for warning in warnings:
        print(f"  warning: {warning}", file=out)
    for index, explanation in enumerate(explanations):
        print("", file=out)
        _print_explanation(explanation, index, out)
    return 0


# Said wherever explain names who would be paged: the times count from the first page.
_PAGING = "after group_wait, until someone acknowledges"


def _secrets_text(origins: list[str], resolved: bool) -> str:
    if not origins:
        return "none referenced"
    kinds = {kind: sum(o.startswith(f"{kind}:") for o in origins) for kind in ("env", "file")}
    counted = f"{kinds['env']} environment variable(s), {kinds['file']} file(s)"
    if resolved:
        return f"{len(origins)} resolved ({counted})"
    return (
        f"{len(origins)} referenced, not read ({counted}); "
        "check them too with --resolve-secrets, as `tocsin serve` reads them at start"
    )


def _print_json(document: object, out: TextIO) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False), file=out)


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _sla_text(target: SlaTarget | None) -> str:
    if target is None:
        return "none"
    parts = []
    for name, clock in (("acknowledge", target.acknowledge), ("resolve", target.resolve)):
        if clock is not None:
            warn = ", ".join(format_duration(w) for w in clock.warn_at)
            parts.append(
                f"{name} within {format_duration(clock.within)}"
                + (f" (warn at {warn})" if warn else "")
            )
    return "; ".join(parts)


def _print_explanation(e: Explanation, index: int, out: TextIO) -> None:
    def say(text: str, depth: int = 1) -> None:
        print("  " * depth + text, file=out)

    c = e.categorisation
    print(f"alert {index}: {_labels(e.alert.labels)}", file=out)
    say("muting:")
    if not e.mutes and not e.inhibitions:
        say("no silence, maintenance window or inhibit rule covers these labels", 2)
    for mute in e.mutes:
        state = "ACTIVE now, the alert is muted" if mute.active else "not active now"
        say(f"{mute.kind} {mute.name}: matches; {state} ({mute.when})", 2)
    for check in e.inhibitions:
        rule = check.rule
        if check.as_target:
            sources = ", ".join(str(m) for m in rule.source_matchers)
            equal = f" with equal {', '.join(rule.equal)}" if rule.equal else ""
            say(
                f"inhibit rule {check.name}: muted while an alert fires matching {sources}{equal}",
                2,
            )
        if check.as_source:
            say(f"inhibit rule {check.name}: while firing, mutes alerts matching the targets", 2)
    say("categorisation (first match wins unless continue):")
    if not c.outcomes:
        say("no categorisation rules", 2)
    for outcome in c.outcomes:
        name = f" {outcome.name}" if outcome.name else ""
        if outcome.matched:
            fields = ", ".join(outcome.applied) or "nothing new"
            say(f"[{outcome.index}]{name}: MATCH, decides {fields}", 2)
        else:
            say(f"[{outcome.index}]{name}: no ({outcome.mismatch} does not match)", 2)
    decided = dict(c.decided_by)
    say("result:")
    say(f"title: {c.title}", 2)
    say(f"category: {c.category} ({decided.get('category')})", 2)
    say(f"service: {c.service or '-'}", 2)
    say(
        f"impact: {e.impact_name} ({decided.get('impact')}), urgency: {e.urgency_name} "
        f"({decided.get('urgency')}) -> priority {c.priority_name}",
        2,
    )
    say(f"SLA: {_sla_text(e.sla)}", 2)
    escalation = e.sla_escalation
    say(f"SLA escalation: {'none' if escalation is None else escalation.describe()}", 2)
    if e.support_hours is None:
        say("support hours: none (pages at any time)", 2)
    else:
        limited = "waits for them outside" if e.support_limited else "pages at any time"
        say(f"support hours: {e.support_hours.describe()}; this incident {limited}", 2)
    team_from = f" ({decided['team']})" if "team" in decided else ""
    say(f"team: {c.team or '-'}{team_from}", 2)
    say(f"components: {', '.join(c.components) or '-'}", 2)
    say(f"tasks: {'; '.join(c.tasks) or '-'}", 2)
    say(f"runbook: {c.runbook or '-'}", 2)
    say("routing (children in order; first match wins unless continue):")
    for visit in e.route_visits:
        verdict = "match" if visit.matched else f"no ({visit.mismatch} does not match)"
        if visit.matched and visit.continues:
            verdict += ", continue"
        say(f"{visit.path} [{visit.key}]: {verdict}", 2 + visit.depth)
    say(f"incidents ({len(e.incidents)}, one per matched route):")
    for incident in e.incidents:
        route = incident.route
        say(f"{route.path} [{route.key}]", 2)
        say(f"group key: {incident.group_key}", 3)
        say(
            f"group_wait {format_duration(route.group_wait)}, group_interval "
            f"{format_duration(route.group_interval)}, reopen_window "
            f"{format_duration(route.reopen_window)}",
            3,
        )
        choice = incident.policy_choice
        origin = choice.describe() if choice is not None else ""
        if incident.policy is None:
            say(f"escalation policy: {origin or 'none'}; nobody would be paged", 3)
            continue
        policy = incident.policy
        say(f"escalation policy: {policy.name} ({origin}), repeat {policy.repeat}", 3)
        say(f"would page ({_PAGING}):", 3)
        for step in incident.steps:
            say(f"at +{format_duration(step.after)}: {', '.join(step.targets)}", 4)


def _explanation_json(e: Explanation) -> dict[str, Any]:
    c = e.categorisation
    return {
        "labels": dict(e.alert.labels),
        "muted_now": e.muted_now,
        "mutes": [
            {"kind": m.kind, "name": m.name, "active": m.active, "when": m.when} for m in e.mutes
        ],
        "inhibit_rules": [
            {"name": i.name, "as_target": i.as_target, "as_source": i.as_source}
            for i in e.inhibitions
        ],
        "categories": [
            {
                "index": o.index,
                "name": o.name,
                "matched": o.matched,
                "mismatch": o.mismatch,
                "decides": list(o.applied),
            }
            for o in c.outcomes
        ],
        "title": c.title,
        "category": c.category,
        "service": c.service,
        "impact": {"level": c.impact, "name": e.impact_name},
        "urgency": {"level": c.urgency, "name": e.urgency_name},
        "priority": priority_name(c.priority),
        "sla": None
        if e.sla is None
        else {
            "acknowledge": _clock_json(e.sla.acknowledge),
            "resolve": _clock_json(e.sla.resolve),
        },
        "sla_escalation": None if e.sla_escalation is None else e.sla_escalation.describe(),
        "support_hours": None
        if e.support_hours is None
        else {"hours": e.support_hours.describe(), "limits_this_incident": e.support_limited},
        "team": c.team,
        "components": list(c.components),
        "tasks": list(c.tasks),
        "runbook": c.runbook,
        "decided_by": dict(c.decided_by),
        "routes_tried": [
            {"path": v.path, "key": v.key, "matched": v.matched, "mismatch": v.mismatch}
            for v in e.route_visits
        ],
        "incidents": [
            {
                "route": i.route.path,
                "route_key": i.route.key,
                "group_key": i.group_key,
                "group_labels": dict(i.group_labels),
                "group_wait_seconds": i.route.group_wait.total_seconds(),
                "group_interval_seconds": i.route.group_interval.total_seconds(),
                "reopen_window_seconds": i.route.reopen_window.total_seconds(),
                "policy": None if i.policy is None else i.policy.name,
                "policy_source": None if i.policy_choice is None else i.policy_choice.source.value,
                "policy_from": None if i.policy_choice is None else i.policy_choice.detail,
                "paging_built": False,
                "escalation": [
                    {"after_seconds": s.after.total_seconds(), "targets": list(s.targets)}
                    for s in i.steps
                ],
            }
            for i in e.incidents
        ],
    }


def _clock_json(clock: SlaClock | None) -> dict[str, Any] | None:
    if clock is None:
        return None
    return {
        "within_seconds": clock.within.total_seconds(),
        "warn_at_seconds": [w.total_seconds() for w in clock.warn_at],
    }
