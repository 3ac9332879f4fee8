"""The on-call part of the OpenAPI document (tocsin.operator.oncall, tocsin.operator.calendar)."""

from __future__ import annotations

from typing import Any

from tocsin.openapi.schemas import (
    Schema,
    answer,
    array,
    closed,
    instant,
    nullable,
    path_id,
    query,
    ref,
    responses,
    text,
)


def oncall_schemas() -> dict[str, Schema]:
    """The on-call component schemas."""
    person = closed({"name": text(), "display_name": text()})
    fields: dict[str, Schema] = {
        "start": instant(),
        "end": instant(),
        "person": nullable(text()),
        "source": nullable(text(description='a layer name, or "override"')),
    }
    about = "One final shift: [start, end); person null where nobody is on call."
    shift = closed(fields, description=about)
    head = {"name": text(), "display_name": text(), "time_zone": text()}
    target = closed({"kind": text(), "name": text(), "people": array(text())})
    return {
        "OnCallPerson": person,
        "Shift": shift,
        "ScheduleShift": closed(
            {**fields, "people": array(ref("OnCallPerson"))}, description=about
        ),
        "ScheduleNow": closed(
            {**head, "people": array(ref("OnCallPerson")), "shift": ref("Shift")}
        ),
        "PolicyReach": closed(
            {
                "name": text(),
                "first_level": closed(
                    {"delay_seconds": {"type": "number"}, "targets": array(target)}
                ),
                "people": array(ref("OnCallPerson")),
                "channels": array(text()),
            }
        ),
        "OnCall": closed(
            {
                "at": instant(),
                "schedules": array(ref("ScheduleNow")),
                "escalation_policies": array(ref("PolicyReach")),
            }
        ),
        "ScheduleShifts": closed(
            {
                **head,
                "layers": array(text()),
                "from": instant(),
                "to": instant(),
                "shifts": array(ref("ScheduleShift")),
            }
        ),
        "CalendarFeeds": closed(
            {
                "schedules": {"type": "object", "additionalProperties": text()},
                "people": {"type": "object", "additionalProperties": text()},
            }
        ),
    }


def oncall_paths() -> dict[str, Any]:
    """``/api/v1/oncall``, ``/api/v1/schedules/{name}`` and the calendar feeds."""
    ics = {"text/calendar": {"schema": {"type": "string"}}}
    token = {
        "name": "token",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "The feed's token (see GET /api/v1/calendar/feeds).",
    }
    feed = {
        "tags": ["oncall"],
        "x-required-role": "none",  # the token in the URL is the credential
        "security": [],
        "responses": responses(
            {"200": {"description": "An iCalendar document.", "content": ics}}, [404]
        ),
    }
    return {
        "/api/v1/oncall": {
            "get": {
                "operationId": "getOnCall",
                "tags": ["oncall"],
                "summary": "Who is on call at an instant, per schedule and policy first level.",
                "x-required-role": "viewer",
                "parameters": [query("at", instant(), "RFC 3339 instant (default now).")],
                "responses": responses(
                    {"200": answer("Who is on call.", ref("OnCall"))}, [400, 403]
                ),
            }
        },
        "/api/v1/schedules/{name}": {
            "get": {
                "operationId": "getScheduleShifts",
                "tags": ["oncall"],
                "summary": "A schedule's final shifts over [from, to), at most 90 days.",
                "x-required-role": "viewer",
                "parameters": [
                    path_id("The schedule's name.", "name"),
                    query("from", instant(), "RFC 3339 instant (default now)."),
                    query("to", instant(), "RFC 3339 instant (default from + 7 days)."),
                ],
                "responses": responses(
                    {"200": answer("The final shifts.", ref("ScheduleShifts"))}, [400, 403, 404]
                ),
            }
        },
        "/api/v1/calendar/schedules/{name}.ics": {
            "get": {
                **feed,
                "operationId": "getScheduleCalendar",
                "summary": "A schedule's shifts as iCalendar (14 days back, 90 ahead).",
                "parameters": [path_id("The schedule's name.", "name"), token],
            }
        },
        "/api/v1/calendar/people/{name}.ics": {
            "get": {
                **feed,
                "operationId": "getPersonCalendar",
                "summary": "A person's shifts in every schedule as iCalendar.",
                "parameters": [path_id("The person's name.", "name"), token],
            }
        },
        "/api/v1/calendar/feeds": {
            "get": {
                "operationId": "listCalendarFeeds",
                "tags": ["oncall"],
                "summary": "The current URL (path and query) of every calendar feed.",
                "x-required-role": "admin",
                "responses": responses(
                    {"200": answer("Feed URLs by name.", ref("CalendarFeeds"))}, [403, 404]
                ),
            }
        },
    }
