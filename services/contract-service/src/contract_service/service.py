"""The contract service definition."""

from __future__ import annotations

from pathlib import Path

from casework.runtime import ServiceDefinition
from contract_service.api.audit import router as audit_router
from contract_service.api.budget_alerts import router as budget_alerts_router
from contract_service.api.budget_lines import router as budget_lines_router
from contract_service.api.commitments import router as commitments_router
from contract_service.api.contracts import router as contracts_router
from contract_service.api.derogations import router as derogations_router
from contract_service.api.drug_returns import router as drug_returns_router
from contract_service.api.evidence import router as evidence_router
from contract_service.api.forecast import router as forecast_router
from contract_service.api.forecast_national import router as forecast_national_router
from contract_service.api.validation_queries import router as validation_queries_router
from contract_service.api.what_if import router as what_if_router
from contract_service.db import models as _models  # noqa: F401  (registers the tables on the metadata)
from contract_service.db.base import Base, platform_tables
from contract_service.handlers import cdf_events, ifr_events
from contract_service.settings import ContractSettings

definition = ServiceDefinition(
    name="contract",
    title="Contract service",
    version="0.2.0",
    settings_class=ContractSettings,
    metadata=Base.metadata,
    tables=platform_tables,
    migrations=Path(__file__).parent / "migrations" / "versions",
    routers=[
        audit_router,
        contracts_router,
        budget_lines_router,
        derogations_router,
        commitments_router,
        forecast_national_router,
        budget_alerts_router,
        what_if_router,
        forecast_router,
        drug_returns_router,
        validation_queries_router,
        evidence_router,
    ],
    handlers={**cdf_events.HANDLERS, **ifr_events.HANDLERS},
)
