"""The CDF service definition: what the platform runs, migrates and documents."""

from __future__ import annotations

from pathlib import Path

from casework.runtime import ServiceDefinition
from cdf_service.api.applications import router as applications_router
from cdf_service.db import models as _models  # noqa: F401  (registers the tables on the metadata)
from cdf_service.db.base import Base, platform_tables
from cdf_service.settings import CdfSettings

definition = ServiceDefinition(
    name="cdf",
    title="CDF service",
    version="0.1.0",
    settings_class=CdfSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
    routers=[applications_router],
)
