"""The IFR service definition."""

from __future__ import annotations

from pathlib import Path

from casework.runtime import ServiceDefinition
from ifr_service.db.base import Base, platform_tables
from ifr_service.settings import IfrSettings

definition = ServiceDefinition(
    name="ifr",
    title="IFR service",
    version="0.1.0",
    settings_class=IfrSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
)
