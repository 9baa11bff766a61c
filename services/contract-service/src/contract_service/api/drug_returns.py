"""Monthly high-cost drug expenditure returns (CSV or JSON), validated row by row and reconciled."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict
from sqlalchemy import select

from casework.auth import Principal, ensure_visible
from casework.financial_year import MONTH_PATTERN
from casework.identifiers import OdsCode
from casework.openapi import problems
from casework.pagination import Page, paginate
from casework.problems import NotFound, Problem, field_problem
from casework.request_body import body_limit
from contract_service.api.access import reader, submitter
from contract_service.db.models import DrugReturn, DrugReturnLine, ValidationQuery
from contract_service.domain.drug_returns import read_csv
from contract_service.runtime import Uow
from contract_service.settings import ContractSettings
from contract_service.use_cases.drug_returns import Submission, store_return

router = APIRouter(tags=["drug returns"])

_PERIOD = MONTH_PATTERN
_SUBMISSION = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"


class ReturnHeader(BaseModel):
    provider_ods: OdsCode
    period: str = Field(pattern=_PERIOD, examples=["2026-05"])
    submission_id: str = Field(pattern=_SUBMISSION, description="the trust's id for this submission")


# A line of the examples: a CDF-funded pembrolizumab cycle at RRV in May 2026 (a 999 test NHS number)
RETURN_LINE_EXAMPLE: JsonDict = {
    "nhs_number": "9990000107",
    "dmd_id": "155722341000001108",
    "indication": "Metastatic non-small cell lung cancer, first line",
    "administered_on": "2026-05-04",
    "quantity": "2",
    "cost": "5260.00",
    "approval_reference": "CDF-3F2A9C1B7E",
    "drug_name": "Pembrolizumab 100mg/4ml concentrate for solution for infusion vials",
}


def _csv_file(lines: list[JsonDict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, list(lines[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()


RETURN_CSV_EXAMPLE = _csv_file([RETURN_LINE_EXAMPLE])


class DrugReturnIn(ReturnHeader):
    """A return as JSON. Lines are checked one by one (a bad line is reported, not fatal), so they
    are plain objects here: nhs_number, dmd_id, indication, administered_on (YYYY-MM-DD), quantity,
    cost, approval_reference (optional), drug_name (optional)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider_ods": "RRV",
                    "period": "2026-05",
                    "submission_id": "RRV-HCD-2026-05",
                    "lines": [RETURN_LINE_EXAMPLE],
                }
            ]
        }
    )

    lines: list[dict[str, Any]]


class RowProblem(BaseModel):
    row: int
    field: str
    reason: str


class DrugReturnOut(BaseModel):
    id: uuid.UUID
    provider_ods: str
    period: str
    financial_year: str
    submission_id: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    report: list[RowProblem]
    submitted_value: Decimal
    authorised_value: Decimal
    challenged_value: Decimal
    query_id: uuid.UUID | None
    query_reference: str | None
    created_at: datetime


class ReturnLineOut(BaseModel):
    row_number: int
    nhs_number: str
    patient_ref: str
    dmd_id: str
    drug_name: str | None
    indication: str
    administered_on: date
    quantity: Decimal
    cost: Decimal
    approval_reference: str | None
    funding_source: str
    funding: str
    reason: str | None
    budget_line_id: uuid.UUID | None
    query_id: uuid.UUID | None


async def _out(uow: Uow, drug_return: DrugReturn) -> DrugReturnOut:
    reference = None
    if drug_return.query_id is not None:
        reference = await uow.session.scalar(
            select(ValidationQuery.reference).where(ValidationQuery.id == drug_return.query_id)
        )
    return DrugReturnOut.model_validate(
        {**{c: getattr(drug_return, c) for c in DrugReturnOut.model_fields if c != "query_reference"}}
        | {"query_reference": reference}
    )


def _invalid(exc: ValidationError) -> Problem:
    errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
    return Problem(
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        status=422,
        title="Validation failed",
        errors=errors,
    )


async def _submission(request: Request, principal: Principal, settings: ContractSettings) -> Submission:
    body = await request.body()  # at most DRUG_RETURN_MAX_BYTES (the route's body limit)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "text/csv":
            header = ReturnHeader.model_validate(
                {k: request.query_params.get(k) for k in ("provider_ods", "period", "submission_id")}
            )
            meta = DrugReturnIn(**header.model_dump(), lines=read_csv(body.decode("utf-8-sig")))
        elif content_type in ("application/json", ""):
            meta = DrugReturnIn.model_validate(json.loads(body or b"null"))
        else:
            raise Problem("send the return as application/json or text/csv", status=415, title="Unsupported media type")
    except ValidationError as exc:
        raise _invalid(exc) from None
    except (ValueError, UnicodeDecodeError) as exc:  # bad JSON, bad CSV header
        raise field_problem("body", str(exc)) from None
    if not meta.lines:
        raise field_problem("lines", "the return has no lines")
    if len(meta.lines) > settings.drug_return_max_rows:
        raise field_problem("lines", f"at most {settings.drug_return_max_rows} lines per return")
    ensure_visible(principal, meta.provider_ods, "provider", meta.provider_ods)
    return Submission(meta.provider_ods, meta.period, meta.submission_id, meta.lines, principal.sub)


@router.post(
    "/drug-returns",
    status_code=201,
    response_model=DrugReturnOut,
    responses={
        **problems(409),  # other content under a submission id already used
        200: {"model": DrugReturnOut, "description": "The same return sent again: the stored result"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": DrugReturnIn.model_json_schema()},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": RETURN_CSV_EXAMPLE,
                },
            },
            "description": "CSV needs the query parameters provider_ods, period and submission_id.",
        }
    },
)
@body_limit("drug_return_max_bytes")
async def submit_return(request: Request, uow: Uow, principal: Principal = submitter) -> Any:
    """Idempotent per provider + period + submission_id: the same submission again returns the first
    result (200); other content under the same id is a 409. Bad rows are rejected and reported,
    the rest kept; 422 when no row is valid (nothing stored)."""
    submission = await _submission(request, principal, uow.settings)
    drug_return, created = await store_return(uow, submission)
    action = "create" if created else "replay"
    uow.audit(principal, action, "drug_return", drug_return.id, detail={"lines": drug_return.rows_accepted})
    out = await _out(uow, drug_return)
    await uow.commit()
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200, headers=headers)


@router.get("/drug-returns", response_model=Page[DrugReturnOut])
async def list_returns(
    uow: Uow,
    provider: OdsCode | None = None,
    period: str | None = Query(None, pattern=_PERIOD),
    fy: str | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = reader,
) -> Page[DrugReturnOut]:
    query = select(DrugReturn)
    if (org := principal.org_filter()) is not None:
        query = query.where(DrugReturn.provider_ods.startswith(org))
    if provider:
        query = query.where(DrugReturn.provider_ods.startswith(provider.upper()))
    if period:
        query = query.where(DrugReturn.period == period)
    if fy:
        query = query.where(DrugReturn.financial_year == fy)
    rows, next_cursor = await paginate(uow.session, query, (DrugReturn.created_at, DrugReturn.id), cursor, limit)
    return Page(items=[await _out(uow, r) for r in rows], next_cursor=next_cursor)


async def _load(uow: Uow, return_id: uuid.UUID, principal: Principal) -> DrugReturn:
    drug_return = await uow.session.get(DrugReturn, return_id)
    if drug_return is None:
        raise NotFound(f"drug return {return_id} not found")
    ensure_visible(principal, drug_return.provider_ods, "drug return", return_id)
    return drug_return


@router.get("/drug-returns/{return_id}", response_model=DrugReturnOut)
async def read_return(return_id: uuid.UUID, uow: Uow, principal: Principal = reader) -> DrugReturnOut:
    return await _out(uow, await _load(uow, return_id, principal))


@router.get("/drug-returns/{return_id}/lines", response_model=Page[ReturnLineOut])
async def read_return_lines(
    return_id: uuid.UUID,
    uow: Uow,
    funding: str | None = None,
    cursor: str | None = None,
    limit: int = Query(200, ge=1, le=500),
    principal: Principal = reader,
) -> Page[ReturnLineOut]:
    """Patient-level lines (NHS numbers): every read is audited."""
    drug_return = await _load(uow, return_id, principal)
    query = select(DrugReturnLine).where(DrugReturnLine.return_id == drug_return.id)
    if funding:
        query = query.where(DrugReturnLine.funding == funding)
    rows, next_cursor = await paginate(uow.session, query, (DrugReturnLine.row_number,), cursor, limit)
    uow.audit(principal, "read", "drug_return_lines", drug_return.id, detail={"rows": [r.row_number for r in rows]})
    await uow.commit()
    return Page(items=[ReturnLineOut.model_validate(r, from_attributes=True) for r in rows], next_cursor=next_cursor)
