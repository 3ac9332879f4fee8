"""structlog set-up: JSON lines for machines, readable lines on a terminal."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from typing import Any

import structlog

from core.timestamps import format_rfc3339


def configure_logging(log_format: str, level: str) -> None:
    """Configures structlog once per process.

    Context bound with ``structlog.contextvars`` (request id, source, alert ids) is merged
    into every line. Nothing here logs request headers or bodies: secrets never reach logs.
    """
    use_console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if use_console
        else structlog.processors.JSONRenderer(default=json_default)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def json_default(value: Any) -> Any:
    """What a JSON log line shows of a value JSON has no type for.

    An instant as RFC 3339 and a duration in seconds, as the API shows them; anything
    else as its ``repr``, as structlog does.
    """
    if isinstance(value, datetime):
        return format_rfc3339(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return repr(value)
