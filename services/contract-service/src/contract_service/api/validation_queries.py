"""Validation queries: list and export, the provider's response, the commissioner's settlement,
and the report of challenged value."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, Select, case, func, select

from casework import clock
from casework.auth import Principal, ensure_visible
from casework.concurrency import IfMatch, require_version, set_etag
from casework.csv_export import csv_response
from casework.identifiers import OdsCode
from casework.pagination import Page, paginate
from casework.problems import NotFound
from contract_service.api.access import commissioner, provider_user, reader
from contract_service.api.drug_returns import ReturnLineOut
from contract_service.db.models import DrugReturnLine, EvidenceDocument, ValidationQuery
from contract_service.domain.contracts import pence
from contract_service.domain.validation_queries import (
    FUNDED_OUTCOMES,
    OPEN,
    QUERY_MACHINE,
    QueryStatus,
)
from contract_service.runtime import Uow
from contract_service.use_cases import validation_queries

router = APIRouter(tags=["validation queries"])
# the report names its file after the year: only a year label may reach the Content-Disposition header
ReportYear = Annotated[str, Query(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"])]


class QueryOut(BaseModel):
    id: uuid.UUID
    reference: str
    provider_ods: str
    period: str
    financial_year: str
    status: str
    allowed_actions: list[str]
    lines_count: int
    challenged_value: Decimal
    respond_by: date
    response_overdue: bool
    raised_at: datetime
    evidence_text: str | None
    evidence_reference: str | None
    responded_by: str | None
    responded_at: datetime | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    funded_adjustment: Decimal | None
    source: str = Field(description="drug_return, or cdf_unapproved_use: the CDF challenged an unapproved use")
    detection_id: uuid.UUID | None = Field(description="the CDF detection a cdf_unapproved_use query is about")
    subject: str | None = Field(description="what a CDF-raised query is about, in words")
    version: int


class EvidenceOut(BaseModel):
    """A document the provider attached as evidence (its content is downloaded on its own)."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    description: str | None
    uploaded_by: str
    created_at: datetime


class QueryDetail(QueryOut):
    lines: list[ReturnLineOut]
    documents: list[EvidenceOut]


class ResponseIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "dispute",
                    "evidence_text": "The patient's treatment is covered by the CDF approval of 4 May 2026.",
                    "evidence_reference": "CDF-3F2A9C1B7E",
                },
                {"action": "accept"},
            ]
        }
    )
    action: Literal["accept", "dispute"]
    evidence_text: str | None = Field(None, max_length=10_000)
    evidence_reference: str | None = Field(None, max_length=100, description="e.g. a Blueteq or approval reference")

    @model_validator(mode="after")
    def _evidence(self) -> ResponseIn:
        if self.action == "dispute" and not (self.evidence_text or self.evidence_reference):
            raise ValueError("a dispute needs evidence_text or evidence_reference")
        return self


class ResolutionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "accept_evidence",
                    "note": "The CDF approval covers the cycles in the return; the lines are funded.",
                }
            ]
        }
    )
    action: Literal["uphold_challenge", "accept_evidence", "withdraw"]
    note: str = Field(min_length=1, max_length=10_000)


def _out(query: ValidationQuery) -> dict[str, Any]:
    fields = {name: getattr(query, name) for name in QueryOut.model_fields if hasattr(query, name)}
    return fields | {
        "allowed_actions": QUERY_MACHINE.allowed(query.status),
        "response_overdue": query.status == QueryStatus.RAISED and clock.today() > query.respond_by,
    }


def _conditions(
    principal: Principal, provider: str | None, period: str | None, status: str | None, fy: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if (org := principal.org_filter()) is not None:
        conditions.append(ValidationQuery.provider_ods == org[:3])
    if provider:
        conditions.append(ValidationQuery.provider_ods == provider.upper()[:3])
    if period:
        conditions.append(ValidationQuery.period == period)
    if status:
        conditions.append(ValidationQuery.status == status)
    if fy:
        conditions.append(ValidationQuery.financial_year == fy)
    return conditions


def _filtered(
    principal: Principal, provider: str | None, period: str | None, status: str | None, fy: str | None
) -> Select[Any]:
    return select(ValidationQuery).where(*_conditions(principal, provider, period, status, fy))


@router.get("/validation-queries", response_model=Page[QueryOut])
async def list_queries(
    uow: Uow,
    provider: OdsCode | None = None,
    period: str | None = None,
    status: QueryStatus | None = None,
    fy: str | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = reader,
) -> Page[QueryOut]:
    query = _filtered(principal, provider, period, status, fy)
    keys = (ValidationQuery.raised_at, ValidationQuery.id)
    rows, next_cursor = await paginate(uow.session, query, keys, cursor, limit)
    return Page(items=[QueryOut.model_validate(_out(r)) for r in rows], next_cursor=next_cursor)


CSV_COLUMNS = tuple(c for c in QueryOut.model_fields if c not in ("allowed_actions", "version", "id"))


@router.get("/validation-queries.csv", response_class=Response)
async def export_queries(
    uow: Uow,
    provider: OdsCode | None = None,
    period: str | None = None,
    status: QueryStatus | None = None,
    fy: str | None = None,
    principal: Principal = reader,
) -> Response:
    query = _filtered(principal, provider, period, status, fy).order_by(ValidationQuery.raised_at)
    rows = [_out(r) for r in (await uow.session.scalars(query)).all()]
    return csv_response(CSV_COLUMNS, rows, "validation-queries.csv")


async def documents_of(uow: Uow, query: ValidationQuery) -> list[EvidenceOut]:
    rows = await uow.session.scalars(
        select(EvidenceDocument).where(EvidenceDocument.query_id == query.id).order_by(EvidenceDocument.created_at)
    )
    return [EvidenceOut.model_validate(d, from_attributes=True) for d in rows]


async def load_query(uow: Uow, query_id: uuid.UUID, principal: Principal) -> ValidationQuery:
    query = await uow.session.get(ValidationQuery, query_id)
    if query is None:
        raise NotFound(f"validation query {query_id} not found")
    ensure_visible(principal, query.provider_ods, "validation query", query_id)
    return query


@router.get("/validation-queries/{query_id}", response_model=QueryDetail)
async def read_query(query_id: uuid.UUID, response: Response, uow: Uow, principal: Principal = reader) -> QueryDetail:
    """The query with its patient-level lines: the read is audited."""
    query = await load_query(uow, query_id, principal)
    lines = await uow.session.scalars(
        select(DrugReturnLine)
        .where(DrugReturnLine.query_id == query.id)
        .order_by(DrugReturnLine.period, DrugReturnLine.return_id, DrugReturnLine.row_number)
    )
    detail = QueryDetail.model_validate(
        _out(query)
        | {
            "lines": [ReturnLineOut.model_validate(x, from_attributes=True) for x in lines],
            "documents": await documents_of(uow, query),
        }
    )
    uow.audit(principal, "read", "validation_query", query.id)
    await uow.commit()
    set_etag(response, query.version)
    return detail


async def _move(
    uow: Uow, query: ValidationQuery, action: str, if_match: str | None, principal: Principal, response: Response
) -> QueryOut:
    require_version(if_match, query.version)
    await validation_queries.take_step(uow, query, action, by=principal)
    await uow.commit()
    set_etag(response, query.version)
    return QueryOut.model_validate(_out(query))


@router.post("/validation-queries/{query_id}/response", response_model=QueryOut)
async def respond(
    query_id: uuid.UUID,
    body: ResponseIn,
    response: Response,
    uow: Uow,
    if_match: IfMatch = None,
    principal: Principal = provider_user,
) -> QueryOut:
    """The provider accepts the challenge (the lines are not funded) or disputes it with evidence."""
    query = await load_query(uow, query_id, principal)
    validation_queries.record_response(query, body.evidence_text, body.evidence_reference, by=principal)
    return await _move(uow, query, body.action, if_match, principal, response)


@router.post("/validation-queries/{query_id}/resolution", response_model=QueryOut)
async def resolve(
    query_id: uuid.UUID,
    body: ResolutionIn,
    response: Response,
    uow: Uow,
    if_match: IfMatch = None,
    principal: Principal = commissioner,
) -> QueryOut:
    """The commissioner settles a dispute: uphold the challenge or accept the evidence; or withdraws it."""
    query = await load_query(uow, query_id, principal)
    query.resolution_note = body.note
    return await _move(uow, query, body.action, if_match, principal, response)


class ChallengedValueRow(BaseModel):
    provider_ods: str
    financial_year: str
    period: str | None  # None: the provider's year total
    queries: int
    challenged_value: Decimal
    open_value: Decimal
    not_funded_value: Decimal
    funded_on_resolution_value: Decimal


def _sum_where(statuses: frozenset[str]) -> Any:
    return func.coalesce(
        func.sum(case((ValidationQuery.status.in_(statuses), ValidationQuery.challenged_value), else_=0)), 0
    )


@router.get("/reports/challenged-value", response_model=list[ChallengedValueRow])
async def challenged_value_report(
    uow: Uow, fy: ReportYear, provider: OdsCode | None = None, principal: Principal = reader
) -> list[ChallengedValueRow]:
    """Per provider and month, then the provider's year: what was challenged and how it ended."""
    not_funded = frozenset({QueryStatus.ACCEPTED, QueryStatus.UPHELD})
    conditions = _conditions(principal, provider, None, None, fy)
    rows: list[ChallengedValueRow] = []
    for grouping in (ValidationQuery.period, None):
        columns = [ValidationQuery.provider_ods] + ([grouping] if grouping is not None else [])
        stmt = (
            select(
                *columns,
                func.count(),
                func.sum(ValidationQuery.challenged_value),
                _sum_where(OPEN),
                _sum_where(not_funded),
                _sum_where(FUNDED_OUTCOMES),
            )
            .where(*conditions)
            .group_by(*columns)
        )
        for row in await uow.session.execute(stmt):
            period = row[1] if grouping is not None else None
            values: Sequence[Any] = row[2:] if grouping is not None else row[1:]
            rows.append(
                ChallengedValueRow(
                    provider_ods=row[0],
                    financial_year=fy,
                    period=period,
                    queries=values[0],
                    challenged_value=pence(values[1]),
                    open_value=pence(values[2]),
                    not_funded_value=pence(values[3]),
                    funded_on_resolution_value=pence(values[4]),
                )
            )
    return sorted(rows, key=lambda r: (r.provider_ods, r.period is None, r.period or ""))


REPORT_COLUMNS = tuple(ChallengedValueRow.model_fields)


@router.get("/reports/challenged-value.csv", response_class=Response)
async def challenged_value_csv(
    uow: Uow, fy: ReportYear, provider: OdsCode | None = None, principal: Principal = reader
) -> Response:
    """The same report as a spreadsheet (a provider's year total has an empty period)."""
    rows = await challenged_value_report(uow, fy, provider, principal)
    return csv_response(REPORT_COLUMNS, [r.model_dump() for r in rows], f"challenged-value-{fy.replace('/', '-')}.csv")
