"""Contracts: one per provider per financial year; variations; the contract as it stood on a date."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, JsonValue, field_validator
from pydantic.config import JsonDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from casework.auth import Principal, ensure_visible
from casework.concurrency import IfMatch, require_version, set_etag
from casework.csv_export import csv_response
from casework.financial_year import fy_start_year
from casework.idempotency import IdempotentRequest
from casework.identifiers import OdsCode
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.problems import Conflict, NotFound
from contract_service.api.access import commissioner, reader
from contract_service.api.common import created
from contract_service.db.models import BudgetLine, Commitment, Contract, ContractVariation, Derogation
from contract_service.db.variations import as_domain, variations_of
from contract_service.domain.commitments import CommitmentStatus
from contract_service.domain.contracts import (
    Change,
    ContractTerms,
    ContractValue,
    Variation,
    applied_variations,
    contract_value,
    terms_as_of,
)
from contract_service.domain.derogations import DerogationStatus
from contract_service.runtime import Uow
from contract_service.use_cases import contracts

router = APIRouter(tags=["contracts"])

FinancialYear = Annotated[str, Field(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"])]


# The contract of the examples: a trust's specialised services for 2026/27 (two of its lines)
_MONTHLY_PLAN: list[JsonValue] = [
    "40.00",
    "42.00",
    "42.00",
    "44.00",
    "44.00",
    "40.00",
    "44.00",
    "44.00",
    "36.00",
    "44.00",
    "40.00",
    "44.00",
]
CONTRACT_EXAMPLE: JsonDict = {
    "provider_ods": "RRV",
    "financial_year": "2026/27",
    "title": "University College London Hospitals: specialised services 2026/27",
    "contract_lead_email": "contracts.lead@nhs.net",
    "terms": {
        "schedules": [{"hub": "13Q-LDN", "hub_name": "London specialised commissioning hub"}],
        "service_lines": [
            {
                "code": "NCBPS01C",
                "hub": "13Q-LDN",
                "description": "Cancer: chemotherapy delivery (adult)",
                "price": "412.00",
                "activity_plan": _MONTHLY_PLAN,
            },
            {
                "code": "HCD-PEMBRO",
                "hub": "13Q-LDN",
                "description": "Pembrolizumab (excluded drug, paid at cost)",
                "category": "excluded_drugs",
                "unit": "cycle",
                "price": "5260.00",
                "activity_plan": ["12.00"] * 12,
            },
        ],
    },
}


class ContractIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CONTRACT_EXAMPLE]})
    provider_ods: OdsCode = Field(examples=["RRV"])
    financial_year: FinancialYear
    title: str = Field(min_length=1, max_length=200)
    contract_lead_email: EmailStr | None = None
    terms: ContractTerms

    @field_validator("provider_ods")
    @classmethod
    def _trust(cls, value: str) -> str:
        if len(value) != 3:
            raise ValueError("contracts are held by the trust: a 3-character ODS code")
        return value

    @field_validator("financial_year")
    @classmethod
    def _year(cls, value: str) -> str:
        fy_start_year(value)  # ValueError: two consecutive years like 2026/27
        return value


class ContractOut(BaseModel):
    id: uuid.UUID
    provider_ods: str
    financial_year: str
    title: str
    contract_lead_email: str | None
    version: int
    as_of: date | None  # None: the contract with every agreed variation
    variations_applied: list[int]
    terms: ContractTerms
    value: ContractValue


class VariationIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "effective_date": "2026-10-01",
                    "summary": "Chemotherapy delivery price revised from October; CQUIN rate agreed at 1.25%.",
                    "changes": [
                        {"op": "set_price", "code": "NCBPS01C", "price": "418.50"},
                        {"op": "set_cquin_rate", "cquin_rate_pct": "1.250"},
                    ],
                }
            ]
        }
    )
    effective_date: date
    summary: str = Field(min_length=1, max_length=2000)
    changes: list[Change] = Field(min_length=1, max_length=200)


class VariationOut(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    sequence: int
    effective_date: date
    summary: str
    changes: list[dict[str, Any]]
    agreed_by: str
    agreed_at: datetime


async def load_contract(uow: Uow, contract_id: uuid.UUID, principal: Principal) -> Contract:
    contract = await uow.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} not found")
    ensure_visible(principal, contract.provider_ods, "contract", contract_id)
    return contract


def contract_out(contract: Contract, variations: list[Variation], as_of: date | None, rate: Any) -> ContractOut:
    terms = terms_as_of(ContractTerms.model_validate(contract.base_terms), variations, as_of)
    applied = applied_variations(variations, as_of) if as_of else [v.sequence for v in variations]
    return ContractOut(
        id=contract.id,
        provider_ods=contract.provider_ods,
        financial_year=contract.financial_year,
        title=contract.title,
        contract_lead_email=contract.contract_lead_email,
        version=contract.version,
        as_of=as_of,
        variations_applied=applied,
        terms=terms,
        value=contract_value(terms, rate),
    )


@router.post("/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractOut, openapi_extra=IDEMPOTENT)
async def create_contract(
    body: ContractIn, request: Request, response: Response, uow: Uow, principal: Principal = commissioner
) -> Any:
    idempotent = IdempotentRequest(request, principal, body.model_dump(mode="json"))
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    contract = Contract(
        id=uuid.uuid4(),
        provider_ods=body.provider_ods,
        financial_year=body.financial_year,
        title=body.title,
        contract_lead_email=str(body.contract_lead_email) if body.contract_lead_email else None,
        base_terms=body.terms.model_dump(mode="json"),
        created_by=principal.sub,
    )
    uow.session.add(contract)
    try:
        await uow.session.flush()
    except IntegrityError:
        raise Conflict(
            f"{body.provider_ods} already has a contract for {body.financial_year}: one per provider per year;"
            " change it with a variation"
        ) from None
    out = contract_out(contract, [], None, uow.settings.cquin_rate_pct)
    uow.audit(principal, "create", "contract", contract.id)
    return await created(uow, idempotent, response, out, contract.version)


@router.get("/contracts", response_model=Page[ContractOut])
async def list_contracts(
    uow: Uow,
    provider: OdsCode | None = None,
    fy: str | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = reader,
) -> Page[ContractOut]:
    query = select(Contract)
    if (org := principal.org_filter()) is not None:
        query = query.where(Contract.provider_ods == org[:3])
    if provider:
        query = query.where(Contract.provider_ods == provider.upper()[:3])
    if fy:
        query = query.where(Contract.financial_year == fy)
    rows, next_cursor = await paginate(
        uow.session, query, (Contract.financial_year, Contract.provider_ods, Contract.id), cursor, limit
    )
    rate = uow.settings.cquin_rate_pct
    items = [contract_out(r, as_domain(await variations_of(uow.session, r.id)), None, rate) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


SUMMARY_COLUMNS = (
    "provider_ods",
    "financial_year",
    "title",
    "version",
    "schedules",
    "service_lines",
    "contract_value",
    "excluded_drugs_and_devices",
    "cquin_base",
    "cquin_rate_pct",
    "cquin_value",
    "variations",
    "excluded_drugs_budget",
    "committed",
    "open_derogations",
)


async def _summary_row(session: AsyncSession, contract: Contract, rate: Any) -> dict[str, Any]:
    variations = as_domain(await variations_of(session, contract.id))
    out = contract_out(contract, variations, None, rate)
    budget = await session.scalar(
        select(func.coalesce(func.sum(BudgetLine.budget), 0)).where(BudgetLine.contract_id == contract.id)
    )
    committed = await session.scalar(
        select(func.coalesce(func.sum(Commitment.amount), 0)).where(
            Commitment.provider_ods.startswith(contract.provider_ods),
            Commitment.financial_year == contract.financial_year,
            Commitment.status == CommitmentStatus.COMMITTED,
        )
    )
    open_derogations = await session.scalar(
        select(func.count()).where(
            Derogation.contract_id == contract.id,
            Derogation.status.in_([DerogationStatus.PROPOSED, DerogationStatus.AGREED, DerogationStatus.BREACHED]),
        )
    )
    return {
        "provider_ods": contract.provider_ods,
        "financial_year": contract.financial_year,
        "title": contract.title,
        "version": contract.version,
        "schedules": len(out.terms.schedules),
        "service_lines": len(out.terms.service_lines),
        "contract_value": out.value.total,
        "excluded_drugs_and_devices": out.value.excluded_drugs_and_devices,
        "cquin_base": out.value.cquin_base,
        "cquin_rate_pct": out.value.cquin_rate_pct,
        "cquin_value": out.value.cquin_value,
        "variations": len(variations),
        "excluded_drugs_budget": budget,
        "committed": committed,
        "open_derogations": open_derogations,
    }


@router.get("/contracts.csv", response_class=Response)
async def export_contracts(uow: Uow, fy: str | None = None, principal: Principal = reader) -> Response:
    """Contract summary for spreadsheets: value, CQUIN, budgets, commitments, open derogations."""
    query = select(Contract).order_by(Contract.financial_year, Contract.provider_ods)
    if (org := principal.org_filter()) is not None:
        query = query.where(Contract.provider_ods == org[:3])
    if fy:
        query = query.where(Contract.financial_year == fy)
    rate = uow.settings.cquin_rate_pct
    rows = [await _summary_row(uow.session, c, rate) for c in (await uow.session.scalars(query)).all()]
    return csv_response(SUMMARY_COLUMNS, rows, "contracts.csv")


@router.get("/contracts/{contract_id}", response_model=ContractOut)
async def read_contract(
    contract_id: uuid.UUID,
    response: Response,
    uow: Uow,
    as_of: date | None = Query(None, description="rebuild the contract as it stood on this date"),
    principal: Principal = reader,
) -> ContractOut:
    contract = await load_contract(uow, contract_id, principal)
    variations = as_domain(await variations_of(uow.session, contract.id))
    set_etag(response, contract.version)
    return contract_out(contract, variations, as_of, uow.settings.cquin_rate_pct)


@router.get("/contracts/{contract_id}/variations", response_model=Page[VariationOut])
async def list_variations(
    contract_id: uuid.UUID,
    uow: Uow,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    principal: Principal = reader,
) -> Page[VariationOut]:
    await load_contract(uow, contract_id, principal)
    query = select(ContractVariation).where(ContractVariation.contract_id == contract_id)
    rows, next_cursor = await paginate(uow.session, query, (ContractVariation.sequence,), cursor, limit)
    return Page(items=[VariationOut.model_validate(r, from_attributes=True) for r in rows], next_cursor=next_cursor)


@router.post(
    "/contracts/{contract_id}/variations",
    status_code=status.HTTP_201_CREATED,
    response_model=VariationOut,
    openapi_extra=IDEMPOTENT,
)
async def agree_variation(
    contract_id: uuid.UUID,
    body: VariationIn,
    request: Request,
    response: Response,
    uow: Uow,
    if_match: IfMatch = None,
    principal: Principal = commissioner,
) -> Any:
    idempotent = IdempotentRequest(request, principal, body.model_dump(mode="json"))
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    contract = await load_contract(uow, contract_id, principal)
    require_version(if_match, contract.version)
    variation = await contracts.agree_variation(
        uow,
        contract,
        effective_date=body.effective_date,
        summary=body.summary,
        changes=body.changes,
        agreed_by=principal,
    )
    out = VariationOut.model_validate(variation, from_attributes=True)
    return await created(uow, idempotent, response, out, contract.version)
