"""Settings of the Contract service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from casework.settings import ServiceSettings


class ContractSettings(ServiceSettings):
    service_name: str = "contract"
    port: int = 8003
    public_base_url: str = "http://127.0.0.1:8003"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/contract"

    cquin_rate_pct: Decimal = Field(
        Decimal("1.25"), ge=0, le=100, description="CQUIN % of contract value excluding excluded drugs and devices"
    )
    budget_at_risk_margin_pct: Decimal = Field(
        Decimal("5"), ge=0, description="Alert when forecast outturn exceeds a budget line by more than this %"
    )
    validation_query_response_days: int = Field(
        20, ge=1, description="Working days a provider has to answer a validation query"
    )
    drug_return_max_rows: int = Field(50_000, ge=1, description="Most lines one drug return may carry")
    drug_return_max_bytes: int = Field(20_000_000, ge=1, description="Largest drug return body accepted")
    evidence_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest evidence document a provider may attach to a validation query"
    )
