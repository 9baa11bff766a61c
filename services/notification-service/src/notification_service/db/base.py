"""Declarative base of the Notification service's own database, with the platform tables beside its models."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from casework.db import PlatformTables, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


platform_tables = PlatformTables.on(Base.metadata)
