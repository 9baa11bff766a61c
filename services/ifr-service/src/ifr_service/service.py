"""The IFR service definition: what the platform runs, migrates and documents."""

from __future__ import annotations

from pathlib import Path

from casework.runtime import ServiceDefinition
from ifr_service.api.actions import router as actions_router
from ifr_service.api.audit import router as audit_router
from ifr_service.api.cohorts import router as cohorts_router
from ifr_service.api.mail_intake import router as mail_intake_router
from ifr_service.api.panels import router as panels_router
from ifr_service.api.records import router as records_router
from ifr_service.api.regions import router as regions_router
from ifr_service.api.reports import router as reports_router
from ifr_service.api.requests import router as requests_router
from ifr_service.db import models as _models  # noqa: F401  (registers the tables on the metadata)
from ifr_service.db.base import Base, platform_tables
from ifr_service.handlers.mail_intake import open_draft_from_mail
from ifr_service.settings import IfrSettings
from ifr_service.use_cases.deadlines import deadline_sweep

definition = ServiceDefinition(
    name="ifr",
    title="IFR service",
    version="0.1.0",
    settings_class=IfrSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
    routers=[
        audit_router,
        requests_router,
        actions_router,
        records_router,
        panels_router,
        regions_router,
        cohorts_router,
        reports_router,
        mail_intake_router,
    ],
    handlers={"mail.received": open_draft_from_mail},
    background=[deadline_sweep()],
)
