"""Typed keys for the application state; the one place they are declared."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry

from core.clock import Clock
from core.settings import Settings
from core.store import Store
from escalation.action_links import ActionLinks
from statuspage.writer import Changes, StatusWriter
from tocsin.correlator_process import CorrelatorProcess
from tocsin.reload import RulesReloader
from tocsin.state import RulesState
from tocsin.wakeup import Wakeups
from tocsin.write_health import WriteHealth

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
REGISTRY = web.AppKey("registry", CollectorRegistry)
STORE = web.AppKey("store", Store)
RULES = web.AppKey("rules", RulesState)
RELOADER = web.AppKey("reloader", RulesReloader)
CORRELATOR_PROCESS = web.AppKey("correlator_process", CorrelatorProcess)
WRITE_HEALTH = web.AppKey("write_health", WriteHealth)
# When this process started serving (Alertmanager API v2 status: uptime).
STARTED_AT = web.AppKey("started_at", datetime)
# The status page's writer and the listeners told what it changed (tocsin.statuspage_task).
STATUS_WRITER = web.AppKey("status_writer", StatusWriter)
STATUS_LISTENERS = web.AppKey("status_listeners", list[Callable[[Changes], Awaitable[None]]])
# Signs and checks the action links of notifications (tocsin.operator.action_links).
ACTION_LINKS = web.AppKey("action_links", ActionLinks)
# Ingest rings the correlator, the correlator the paging stages (tocsin.wakeup).
WAKEUPS = web.AppKey("wakeups", Wakeups)
