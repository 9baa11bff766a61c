"""The notification service definition."""

from __future__ import annotations

from pathlib import Path

from casework.runtime import ServiceDefinition
from notification_service.api.audit import router as audit_router
from notification_service.api.inbound_mail import router as inbound_mail_router
from notification_service.api.notifications import router as notifications_router
from notification_service.api.templates import router as templates_router
from notification_service.config import routing_config
from notification_service.db import models as _models  # noqa: F401  (registers the tables on the metadata)
from notification_service.db.base import Base, platform_tables
from notification_service.gateway.server import inbound_gateway
from notification_service.handlers.routing import routing_handlers
from notification_service.metrics import refresh_queued_mail_age
from notification_service.sending.sender import sender_loop
from notification_service.settings import NotificationSettings

definition = ServiceDefinition(
    name="notification",
    title="Notification service",
    version="0.2.0",
    settings_class=NotificationSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
    routers=[audit_router, notifications_router, templates_router, inbound_mail_router],
    # The consumer subscribes to every event type the packaged routing table routes.
    handlers=routing_handlers(routing_config()),
    background=[sender_loop, inbound_gateway],
    metrics=[refresh_queued_mail_age],
)
