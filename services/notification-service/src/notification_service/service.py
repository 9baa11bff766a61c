"""The notification service definition."""

from __future__ import annotations

from pathlib import Path

from casework.runtime import ServiceDefinition
from notification_service.api.notifications import router as notifications_router
from notification_service.db import models as _models  # noqa: F401  (registers the tables on the metadata)
from notification_service.db.base import Base, platform_tables
from notification_service.handlers.queueing import queue_cdf_approval
from notification_service.sending import sender_loop
from notification_service.settings import NotificationSettings

definition = ServiceDefinition(
    name="notification",
    title="Notification service",
    version="0.1.0",
    settings_class=NotificationSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
    routers=[notifications_router],
    handlers={"cdf.application.approved": queue_cdf_approval},
    background=[sender_loop],
)
