"""The information-governance audit API every service includes: who read or changed one patient's records
(the NHS number in a POST body, never in a URL), and what one user looked at, from the service's own
`audit_events`.

Written once here; each service gives `audit_router` its `PatientRecords` finder, which knows which of
its records carry the patient (audit rows name records by entity type and id, not by patient). A row
counts for the patient when it names one of those records, or when it is a list or search row whose
`detail.ids` holds one (what `PatientSearch.audit` and the lists record). Restricted to the IG lead and
administrators, and itself audited: looking at the trail is an audit event too.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Select, and_, cast, false, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from casework.auth import Principal, Role, require_roles
from casework.csv_export import csv_response
from casework.deps import Runtime, Uow
from casework.identifiers import NhsNumber, patient_ref
from casework.pagination import decode_cursor, encode_cursor
from casework.problems import field_problem
from casework.settings import ServiceSettings
from casework.uow import UnitOfWork

AUDITORS = (Role.IG_LEAD,)  # admins pass every role check
PAGE = 100
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)  # outside: a mistake, not a trail to search
CSV_MAX_ROWS = 10_000  # an export beyond this is cut, and says so in its last row
CSV_COLUMNS = (
    "service",
    "at",
    "actor",
    "actor_org",
    "action",
    "entity_type",
    "entity_id",
    "reason",
    "detail",
    "correlation_id",
)


@dataclass(frozen=True)
class Records:
    """One kind of record carrying the patient: the ids its audit rows name, and the entity types its
    list and search rows are recorded under (their `detail.ids` name the records read)."""

    entity_type: str
    ids: Sequence[str]
    listed_as: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Patient:
    nhs_number: str
    patient_ref: str


PatientRecords = Callable[[AsyncSession, Patient], Awaitable[list[Records]]]


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime | None = Field(None, description="rows at or after this time")
    until: AwareDatetime | None = Field(None, description="rows before this time")
    cursor: str | None = Field(None, max_length=500, description="next_cursor of the previous page")
    limit: int = Field(PAGE, ge=1, le=500)

    @field_validator("since", "until")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and not EARLIEST.year <= value.year <= LATEST.year:
            raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
        return value

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and until <= since:
            raise ValueError("must be after the start of the range (since)")
        return until


class PatientAuditQuery(TimeRange):
    """Who read or changed this patient's records. The NHS number travels in the body, never in a URL."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"nhs_number": "9990000018", "since": "2026-04-01T00:00:00Z", "until": "2026-07-01T00:00:00Z"}]
        }
    )
    nhs_number: NhsNumber


class UserAuditQuery(TimeRange):
    """What one user (the token's subject) read or changed."""

    subject: str = Field(min_length=1, max_length=200, description="the user's subject, as audit rows name them")


class AuditEntry(BaseModel):
    id: int
    service: str
    at: datetime
    actor: str
    actor_org: str | None
    action: str
    entity_type: str
    entity_id: str
    reason: str | None
    correlation_id: str | None
    detail: dict[str, Any]
    cursor: str = Field(description="the cursor of the rows after this one (to merge several services' trails)")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = None
    records: int | None = Field(None, description="how many of this service's records carry the patient")


def _patient_rows(runtime: Runtime, records: list[Records]) -> ColumnElement[bool]:
    audit = runtime.tables.audit
    matches: list[ColumnElement[bool]] = []
    for kind in records:
        if not kind.ids:
            continue
        ids = list(kind.ids)
        matches.append(and_(audit.c.entity_type == kind.entity_type, audit.c.entity_id.in_(ids)))
        matches.append(
            and_(
                audit.c.entity_type.in_([kind.entity_type, *kind.listed_as]),
                audit.c.detail["ids"].has_any(_text_array(ids)),
            )
        )
    return or_(*matches) if matches else false()


def _text_array(values: list[str]) -> Any:
    return cast(literal(values, ARRAY(Text)), ARRAY(Text))


def _in_range(query: Select[Any], runtime: Runtime, window: TimeRange) -> Select[Any]:
    audit = runtime.tables.audit
    if window.since is not None:
        query = query.where(audit.c.at >= window.since)
    if window.until is not None:
        query = query.where(audit.c.at < window.until)
    return query


def _position(cursor: str) -> tuple[datetime, int]:
    """The (at, id) a cursor holds; anything else is a cursor this trail did not issue."""
    at, row_id = decode_cursor(cursor, 2)
    if not (isinstance(at, datetime) and at.tzinfo is not None and isinstance(row_id, int) and 0 < row_id < 2**63):
        raise field_problem("cursor", "not a cursor this list issued")
    return at, row_id


async def _page(
    session: AsyncSession, runtime: Runtime, where: ColumnElement[bool], window: TimeRange, limit: int
) -> tuple[list[AuditEntry], str | None]:
    """Newest first, keyed by (at, id) so a page never repeats or skips a row written meanwhile."""
    audit = runtime.tables.audit
    query = _in_range(select(audit).where(where), runtime, window)
    if window.cursor:
        at, row_id = _position(window.cursor)
        query = query.where(tuple_(audit.c.at, audit.c.id) < tuple_(at, row_id))
    rows = (await session.execute(query.order_by(audit.c.at.desc(), audit.c.id.desc()).limit(limit + 1))).mappings()
    service = runtime.definition.name
    entries = [AuditEntry(service=service, cursor=encode_cursor([row["at"], row["id"]]), **row) for row in rows.all()]
    more, entries = len(entries) > limit, entries[:limit]
    cursor = entries[-1].cursor if more and entries else None
    return entries, cursor


async def _patient_where(
    uow: UnitOfWork[ServiceSettings], runtime: Runtime, find: PatientRecords, nhs_number: str
) -> tuple[ColumnElement[bool], list[Records]]:
    key = runtime.settings.patient_ref_key.get_secret_value()
    records = await find(uow.session, Patient(nhs_number, patient_ref(nhs_number, key)))
    return _patient_rows(runtime, records), records


def _audit_read(uow: UnitOfWork[ServiceSettings], principal: Principal, action: str, detail: dict[str, Any]) -> None:
    """The look at the trail is recorded like any other read (never the NHS number, only what it found)."""
    uow.audit(principal, f"audit.{action}", "audit_events", action.split(".")[0], detail=detail)


def _csv(service: str, entries: list[AuditEntry], cut: bool, filename: str) -> Response:
    rows: list[dict[str, Any]] = [{**e.model_dump(), "detail": json.dumps(e.detail, sort_keys=True)} for e in entries]
    if cut:
        rows.append({"service": service, "action": f"cut at {CSV_MAX_ROWS} rows: narrow the time range"})
    return csv_response(CSV_COLUMNS, rows, filename)


def audit_router(find: PatientRecords) -> APIRouter:
    """The service's `/audit` routes, with `find` naming the service's records of a patient."""
    router = APIRouter(prefix="/audit", tags=["audit"])
    auditor = Depends(require_roles(*AUDITORS))

    @router.post("/patient", response_model=AuditPage, summary="Who read or changed one patient's records")
    async def by_patient(
        body: PatientAuditQuery, uow: Uow, runtime: Runtime, principal: Principal = auditor
    ) -> AuditPage:
        where, records = await _patient_where(uow, runtime, find, body.nhs_number)
        entries, cursor = await _page(uow.session, runtime, where, body, body.limit)
        found = {r.entity_type: list(r.ids) for r in records if r.ids}
        _audit_read(uow, principal, "patient", {"records": found, "rows": len(entries)})
        await uow.commit()
        return AuditPage(items=entries, next_cursor=cursor, records=sum(len(ids) for ids in found.values()))

    @router.post("/patient.csv", summary="The same, as CSV (every row in the time range)")
    async def by_patient_csv(
        body: PatientAuditQuery, uow: Uow, runtime: Runtime, principal: Principal = auditor
    ) -> Response:
        where, records = await _patient_where(uow, runtime, find, body.nhs_number)
        entries, cursor = await _page(
            uow.session, runtime, where, body.model_copy(update={"cursor": None}), CSV_MAX_ROWS
        )
        found = {r.entity_type: list(r.ids) for r in records if r.ids}
        _audit_read(uow, principal, "patient.export", {"records": found, "rows": len(entries)})
        await uow.commit()
        return _csv(
            runtime.definition.name, entries, cursor is not None, f"audit-patient-{runtime.definition.name}.csv"
        )

    @router.get("/user", response_model=AuditPage, summary="What one user read or changed")
    async def by_user(
        query: Annotated[UserAuditQuery, Query()], uow: Uow, runtime: Runtime, principal: Principal = auditor
    ) -> AuditPage:
        where = runtime.tables.audit.c.actor == query.subject
        entries, cursor = await _page(uow.session, runtime, where, query, query.limit)
        _audit_read(uow, principal, "user", {"subject": query.subject, "rows": len(entries)})
        await uow.commit()
        return AuditPage(items=entries, next_cursor=cursor)

    @router.get("/user.csv", summary="The same, as CSV (every row in the time range)")
    async def by_user_csv(
        query: Annotated[UserAuditQuery, Query()], uow: Uow, runtime: Runtime, principal: Principal = auditor
    ) -> Response:
        where = runtime.tables.audit.c.actor == query.subject
        entries, cursor = await _page(
            uow.session, runtime, where, query.model_copy(update={"cursor": None}), CSV_MAX_ROWS
        )
        _audit_read(uow, principal, "user.export", {"subject": query.subject, "rows": len(entries)})
        await uow.commit()
        return _csv(runtime.definition.name, entries, cursor is not None, f"audit-user-{runtime.definition.name}.csv")

    return router
