"""The contract service definition."""

from __future__ import annotations

from pathlib import Path

from casework.runtime import ServiceDefinition
from contract_service.api.commitments import router as commitments_router
from contract_service.db import models as _models  # noqa: F401  (registers the tables on the metadata)
from contract_service.db.base import Base, platform_tables
from contract_service.handlers.cdf_events import record_cdf_commitment
from contract_service.settings import ContractSettings

definition = ServiceDefinition(
    name="contract",
    title="Contract service",
    version="0.1.0",
    settings_class=ContractSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
    routers=[commitments_router],
    handlers={"cdf.application.approved": record_cdf_commitment},
)
