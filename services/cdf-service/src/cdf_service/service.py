"""The CDF service definition: what the platform runs, migrates and documents."""

from __future__ import annotations

from pathlib import Path

from casework.periodic import every
from casework.runtime import ServiceDefinition
from cdf_service.api.accuracy import router as accuracy_router
from cdf_service.api.applications import router as applications_router
from cdf_service.api.audit import router as audit_router
from cdf_service.api.clinicians import router as clinicians_router
from cdf_service.api.forecasts import router as forecasts_router
from cdf_service.api.national_list import router as list_router
from cdf_service.api.sact import router as sact_router
from cdf_service.api.sact_schemas import router as sact_schemas_router
from cdf_service.api.treatments import router as treatments_router
from cdf_service.api.unapproved_use import router as unapproved_use_router
from cdf_service.db import models as _models  # noqa: F401  (registers the tables on the metadata)
from cdf_service.db.base import Base, platform_tables
from cdf_service.runtime import CdfRuntime
from cdf_service.sact.worker import sact_worker
from cdf_service.settings import CdfSettings
from cdf_service.use_cases.forecaster import forecaster
from cdf_service.use_cases.lapse import lapse_sweep


def _sweep_interval(runtime: CdfRuntime) -> float:
    interval = runtime.settings.lapse_sweep_interval_s
    return interval if interval > 0 else 3600.0  # off: the job returns at once; don't spin


definition = ServiceDefinition(
    name="cdf",
    title="CDF service",
    version="0.2.0",
    settings_class=CdfSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
    routers=[
        audit_router,
        list_router,
        clinicians_router,
        applications_router,
        treatments_router,
        unapproved_use_router,
        sact_router,
        sact_schemas_router,
        forecasts_router,
        accuracy_router,
    ],
    background=[every(_sweep_interval, lapse_sweep, "cdf-lapse-sweep"), sact_worker, forecaster],
)
