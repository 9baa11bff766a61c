"""JSON logs through structlog, each line carrying the service name and the correlation id."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

from casework.correlation import causation_id, correlation_id
from casework.patient_data import scrub_nhs_numbers


def _add_correlation(_logger: Any, _method: str, event: EventDict) -> EventDict:
    if (cid := correlation_id.get()) is not None:
        event.setdefault("correlation_id", cid)
    if (cause := causation_id.get()) is not None:
        event.setdefault("causation_id", cause)
    return event


def _scrub(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """No NHS number reaches a log line: not in an access log's URL, an error's text or a traceback."""
    for key, value in event.items():
        if isinstance(value, str) and any(c.isdigit() for c in value):
            event[key] = scrub_nhs_numbers(value)
    return event


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_correlation,
        _scrub,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, _scrub, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Library loggers (uvicorn, aiokafka) go through the same JSON renderer.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _scrub,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
