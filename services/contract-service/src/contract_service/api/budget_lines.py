"""Budget lines for excluded drugs and devices on a provider's contract."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework.auth import Principal
from casework.idempotency import IdempotentRequest
from casework.identifiers import SnomedId
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.problems import Conflict
from contract_service.api.access import commissioner, reader
from contract_service.api.common import created
from contract_service.api.contracts import load_contract
from contract_service.db.budgets import allocate_unallocated
from contract_service.db.models import BudgetLine
from contract_service.domain.budget_lines import BudgetKind
from contract_service.runtime import Uow
from contract_service.use_cases.budget_risk import evaluate_risk

router = APIRouter(tags=["budget lines"])


class BudgetLineIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "cdf",
                    "dmd_id": "155722341000001108",
                    "line_name": "CDF drugs: pembrolizumab",
                    "budget": "750000.00",
                }
            ]
        }
    )
    kind: BudgetKind
    dmd_id: SnomedId | None = Field(None, description="the drug (dm+d) this line is for")
    category: str | None = Field(None, min_length=1, max_length=100, description="or a category, e.g. biologics")
    line_name: str = Field(min_length=1, max_length=200, examples=["CDF drugs"])
    budget: Decimal = Field(ge=0, max_digits=14, decimal_places=2)

    @model_validator(mode="after")
    def _drug_or_category(self) -> BudgetLineIn:
        if self.dmd_id is None and self.category is None:
            raise ValueError("a budget line is for a drug (dmd_id) or a category")
        return self


class BudgetLineOut(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    provider_ods: str
    financial_year: str
    kind: str
    dmd_id: str | None
    category: str | None
    line_name: str
    budget: Decimal
    at_risk: bool
    version: int


@router.post(
    "/contracts/{contract_id}/budget-lines",
    status_code=status.HTTP_201_CREATED,
    response_model=BudgetLineOut,
    openapi_extra=IDEMPOTENT,
)
async def add_budget_line(
    contract_id: uuid.UUID,
    body: BudgetLineIn,
    request: Request,
    response: Response,
    uow: Uow,
    principal: Principal = commissioner,
) -> Any:
    idempotent = IdempotentRequest(request, principal, body.model_dump(mode="json"))
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    contract = await load_contract(uow, contract_id, principal)
    line = BudgetLine(
        id=uuid.uuid4(),
        contract_id=contract.id,
        provider_ods=contract.provider_ods,
        financial_year=contract.financial_year,
        at_risk=False,
        **body.model_dump(),
    )
    uow.session.add(line)
    try:
        async with uow.session.begin_nested():
            await uow.session.flush()
    except IntegrityError:
        raise Conflict("this contract already has a budget line of that kind for that drug or category") from None
    # money recorded before the line existed now has a home; the line may start out at risk
    await allocate_unallocated(uow.session, contract.provider_ods, contract.financial_year)
    await evaluate_risk(uow, contract.provider_ods, contract.financial_year)
    uow.audit(principal, "create", "budget_line", line.id)
    out = BudgetLineOut.model_validate(line, from_attributes=True)
    return await created(uow, idempotent, response, out, line.version)


@router.get("/contracts/{contract_id}/budget-lines", response_model=Page[BudgetLineOut])
async def list_budget_lines(
    contract_id: uuid.UUID,
    uow: Uow,
    kind: BudgetKind | None = None,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    principal: Principal = reader,
) -> Page[BudgetLineOut]:
    await load_contract(uow, contract_id, principal)
    query = select(BudgetLine).where(BudgetLine.contract_id == contract_id)
    if kind is not None:
        query = query.where(BudgetLine.kind == kind)
    rows, next_cursor = await paginate(uow.session, query, (BudgetLine.line_name, BudgetLine.id), cursor, limit)
    return Page(items=[BudgetLineOut.model_validate(r, from_attributes=True) for r in rows], next_cursor=next_cursor)
