"""The application factory: wires settings, rules, store and the stages into one aiohttp app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

from aiohttp import web
from prometheus_client import CollectorRegistry

from core.clock import Clock, SystemClock
from core.settings import Settings
from ingest.dedup import DuplicateFilter
from ingest.heartbeat import HeartbeatHandler
from ingest.heartbeat_pings import HeartbeatPings
from ingest.http import IngestHandlers
from ingest.limits import IngestLimits
from ingest.metrics import IngestMetrics
from ingest.service import IngestService
from tocsin import health
from tocsin.amapi import add_alertmanager_api
from tocsin.correlation import correlator_context
from tocsin.correlator_process import CorrelatorProcess
from tocsin.escalation_task import add_escalation
from tocsin.incident_metrics import IncidentMetrics, incident_metrics_context
from tocsin.keys import CORRELATOR_PROCESS, RELOADER, STATUS_LISTENERS, STORE, WAKEUPS
from tocsin.middleware import (
    content_encoding_middleware,
    errors_middleware,
    latency_middleware,
    request_id_middleware,
)
from tocsin.openapi import add_openapi_route
from tocsin.operator import add_operator_api
from tocsin.operator.action_links import add_action_links
from tocsin.operator.auth import admin_only
from tocsin.operator.calendar import add_calendar_routes
from tocsin.operator.channels import add_channel_routes
from tocsin.operator.oncall import add_oncall_routes
from tocsin.operator.sla import add_sla_routes
from tocsin.operator.slack_interactivity import add_slack_interactivity
from tocsin.reload import RulesReloader
from tocsin.reports.closure_http import add_report_routes
from tocsin.silence_retention import silence_retention_context
from tocsin.status_site import add_status_site, site_directory
from tocsin.statuspage_task import add_status_page
from tocsin.wakeup import Wakeups
from tocsin.wiring import install_foundation


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    env: Mapping[str, str] | None = None,
) -> web.Application:
    """Builds the application; raises RuleError at once if the rules are invalid.

    The store is opened when the application starts (a cleanup context) and closed when
    it stops, after in-flight writes commit.
    """
    clock = clock or SystemClock()
    registry = registry or CollectorRegistry()
    environment = os.environ if env is None else env
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            request_id_middleware,
            latency_middleware(registry),
            errors_middleware,
            # A base URL given with a trailing slash (Grafana's, amtool's) asks for
            # //api/v2/...: redirected to the path once, method and body kept (308).
            web.normalize_path_middleware(append_slash=False, merge_slashes=True),
            content_encoding_middleware(settings.max_body_bytes, settings.body_timeout_seconds),
        ],
        # Tocsin decodes Content-Encoding itself (ingest.body): aiohttp's parser would
        # answer br or zstd with a plain-text 400 and a traceback before any middleware.
        handler_args={"auto_decompress": False},
    )
    rules_state = install_foundation(app, settings, clock, registry, environment)
    store = app[STORE]

    metrics = IngestMetrics(registry)
    duplicates = DuplicateFilter(
        timedelta(seconds=settings.dedup_refresh_seconds), settings.dedup_capacity
    )
    wakeups = app[WAKEUPS] = Wakeups()
    service = IngestService(store, duplicates, metrics, wakeups.log.ring)
    pings = HeartbeatPings(store, service)
    handlers = IngestHandlers(
        rules_state.gate, service, metrics, clock, IngestLimits.from_settings(settings), pings
    )
    handlers.add_routes(app.router)
    HeartbeatHandler(rules_state.gate, pings, clock).add_routes(app.router)
    health.add_routes(app.router)
    add_operator_api(app)
    # Who is on call, schedules' shifts and their calendar feeds (issue 11).
    add_oncall_routes(app.router)
    # Each notification channel and whether delivery paused it (issue 11).
    add_channel_routes(app.router)
    add_sla_routes(app.router)
    add_calendar_routes(app.router)
    add_report_routes(app.router)
    # Acknowledge and resolve from a notification without logging in (issue 11).
    add_action_links(app, environment)
    # Paging: the escalation and SLA stages and outbox delivery (issue 11).
    add_escalation(app)
    # Slack's Acknowledge and Resolve buttons (issue 11).
    add_slack_interactivity(app)
    # The operator API's OpenAPI document, readable without a key.
    add_openapi_route(app.router)
    # Alertmanager's API v2 read side and silences, for amtool, Grafana and Karma.
    add_alertmanager_api(app)
    # The status page: its operator API and the writer consuming the event stream (issue 12).
    add_status_page(app)
    # The public status site, rebuilt on change, served at /status/ (issue 12).
    add_status_site(app, site_directory(settings.store, environment), app[STATUS_LISTENERS])

    reloader = RulesReloader(settings.rules, rules_state, clock, registry, environment)
    app[RELOADER] = reloader
    # Reloading is an operator action: an admin key (SIGHUP stays for the local machine).
    app.router.add_post("/-/reload", admin_only(reloader.handle_post))
    app.cleanup_ctx.append(reloader.sighup_context)
    app.cleanup_ctx.append(silence_retention_context)
    # Time to acknowledge and resolve, and open incidents, on /metrics.
    app.cleanup_ctx.append(incident_metrics_context(IncidentMetrics(registry)))
    if settings.correlate and settings.correlator_mode == "inline":
        app.cleanup_ctx.append(correlator_context)
    elif settings.correlate:
        child = CorrelatorProcess(settings, registry, environment, clock, wakeups=wakeups)
        app[CORRELATOR_PROCESS] = child
        reloader.listeners.append(child.reload)
        app.cleanup_ctx.append(child.context)
    return app
