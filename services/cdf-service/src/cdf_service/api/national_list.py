"""The national CDF list: read it as it stood on any day; the CDF team changes it by dated versions."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from casework import clock
from casework.auth import Principal, current_principal, require_roles
from casework.concurrency import IfMatch, set_etag
from casework.csv_export import csv_response
from casework.idempotency import IdempotentRequest
from casework.identifiers import SnomedId
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.problems import NotFound, Unprocessable
from casework.request_body import body_limit
from cdf_service.access import LIST_EDITOR_ROLES
from cdf_service.db import list_repo
from cdf_service.db.list_cache import list_cache
from cdf_service.db.models import ListEntryVersion
from cdf_service.domain.list_csv import LIST_COLUMNS, entry_to_row
from cdf_service.domain.national_list import (
    Criterion,
    EntryStatus,
    is_open_on,
)
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork, Runtime, Uow
from cdf_service.use_cases.list_loader import ListLoadProblems, load_list_csv
from cdf_service.use_cases.national_list import add_version as add_list_version
from cdf_service.use_cases.national_list import create_entry as create_list_entry

router = APIRouter(prefix="/cdf/list", tags=["national list"])
ENTRY_ID = r"^[A-Z0-9][A-Z0-9-]{2,39}$"


class CriterionIn(BaseModel):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_.-]+$")
    text: str = Field(min_length=1, max_length=500)
    mandatory: bool = True


class EntryContent(BaseModel):
    drug_name: str = Field(min_length=1, max_length=200)
    dmd_id: SnomedId
    other_dmd_ids: list[SnomedId] = Field(default_factory=list, max_length=50)
    indication: str = Field(min_length=1, max_length=2000)
    regimen: str = Field(min_length=1, max_length=2000)
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)
    cost_per_cycle: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    cycle_length_days: int = Field(ge=1, le=365)
    expected_cycles: int = Field(ge=1, le=500)
    managed_access_start: date
    managed_access_end: date | None = None
    status: EntryStatus = EntryStatus.OPEN
    lapse_window_days: int = Field(28, ge=0, le=365)


# A list entry as the CDF team would add it, and the same entry as a row of the import file
ENTRY_EXAMPLE: dict[str, Any] = {
    "entry_id": "CDF-PEMBRO-NSCLC-1L",
    "drug_name": "Pembrolizumab",
    "dmd_id": "155722341000001108",
    "other_dmd_ids": ["118258541000001108", "356207981000001103"],
    "indication": "Untreated PD-L1 positive (TPS >= 50%) metastatic non-small cell lung cancer "
    "without EGFR or ALK alterations",
    "regimen": "Pembrolizumab 200 mg IV every 21 days for up to 35 cycles",
    "criteria": [
        {
            "code": "C1",
            "text": "Histologically or cytologically confirmed stage IV non-small cell lung cancer",
        },
        {"code": "C2", "text": "PD-L1 tumour proportion score of 50% or more"},
        {"code": "C3", "text": "No EGFR mutation or ALK translocation"},
        {"code": "C4", "text": "ECOG performance status 0 or 1"},
        {"code": "C5", "text": "No prior systemic treatment for metastatic disease"},
        {"code": "C6", "text": "Patient consents to SACT and Blueteq data collection"},
        {
            "code": "C9",
            "text": "Patient enrolled in the outcomes registry (optional)",
            "mandatory": False,
        },
    ],
    "cost_per_cycle": "5260.00",
    "cycle_length_days": 21,
    "expected_cycles": 8,
    "managed_access_start": "2017-07-19",
    "managed_access_end": "2027-03-31",
    "status": "open",
    "lapse_window_days": 28,
    "effective_from": "2026-04-01",
    "change_note": "NICE recommendation for use within the Cancer Drugs Fund",
}


def _list_file(*entries: dict[str, Any]) -> str:
    """The import file (text/csv, the export's columns) holding these entries."""
    out = io.StringIO()
    writer = csv.DictWriter(out, LIST_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        criteria = [f"{c['code']}{'' if c.get('mandatory', True) else '?'}: {c['text']}" for c in entry["criteria"]]
        writer.writerow({**entry, "other_dmd_ids": " ".join(entry["other_dmd_ids"]), "criteria": " | ".join(criteria)})
    return out.getvalue()


class EntryIn(EntryContent):
    model_config = ConfigDict(json_schema_extra={"examples": [ENTRY_EXAMPLE]})
    entry_id: str = Field(pattern=ENTRY_ID, examples=["CDF-PEMBRO-NSCLC-1L"])
    effective_from: date
    change_note: str | None = Field(None, max_length=2000)


class EntryChange(BaseModel):
    """A new version: only the fields that change, and the day it takes effect."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"effective_from": "2026-07-01", "cost_per_cycle": "5290.00", "change_note": "List price update"}
            ]
        }
    )
    effective_from: date
    change_note: str | None = Field(None, max_length=2000)
    drug_name: str | None = Field(None, min_length=1, max_length=200)
    other_dmd_ids: list[SnomedId] | None = Field(None, max_length=50)
    indication: str | None = Field(None, min_length=1, max_length=2000)
    regimen: str | None = Field(None, min_length=1, max_length=2000)
    criteria: list[CriterionIn] | None = Field(None, min_length=1, max_length=50)
    cost_per_cycle: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    cycle_length_days: int | None = Field(None, ge=1, le=365)
    expected_cycles: int | None = Field(None, ge=1, le=500)
    managed_access_start: date | None = None
    managed_access_end: date | None = None
    status: EntryStatus | None = None
    lapse_window_days: int | None = Field(None, ge=0, le=365)


class EntryClose(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "effective_from": "2027-04-01",
                    "change_note": "Managed access ended: recommended for routine commissioning",
                }
            ]
        }
    )
    effective_from: date
    change_note: str | None = Field(None, max_length=2000)


class EntryOut(BaseModel):
    entry_id: str
    version: int
    drug_name: str
    dmd_id: str
    other_dmd_ids: list[str]
    indication: str
    regimen: str
    criteria: list[CriterionIn]
    cost_per_cycle: Decimal
    cycle_length_days: int
    expected_cycles: int
    expected_cost: Decimal
    managed_access_start: date
    managed_access_end: date | None
    status: EntryStatus
    lapse_window_days: int
    effective_from: date
    effective_to: date | None
    open_on: date
    open_for_applications: bool
    change_note: str | None


class ListLoadResult(BaseModel):
    created: list[str]
    versioned: list[str]
    unchanged: list[str]


def entry_out(row: ListEntryVersion, day: date) -> EntryOut:
    entry = list_repo.to_domain(row)
    fields = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}
    fields["criteria"] = [CriterionIn(code=c.code, text=c.text, mandatory=c.mandatory) for c in entry.criteria]
    fields["other_dmd_ids"] = list(entry.other_dmd_ids)
    return EntryOut(
        **fields,
        expected_cost=entry.expected_cost,
        open_on=day,
        open_for_applications=is_open_on(entry, day),
        change_note=row.change_note,
    )


def _domain_values(body: BaseModel, exclude: set[str]) -> dict[str, Any]:
    values = body.model_dump(exclude=exclude, exclude_unset=isinstance(body, EntryChange))
    values = {k: v for k, v in values.items() if v is not None or k == "managed_access_end"}
    if "criteria" in values:
        values["criteria"] = tuple(Criterion(**c) for c in values["criteria"])
    if "other_dmd_ids" in values:
        values["other_dmd_ids"] = tuple(values["other_dmd_ids"])
    return values


Day = Annotated[date | None, Query(description="The list as it stood on this day (default today)")]


@router.get("", response_model=Page[EntryOut])
async def list_entries(
    uow: Uow,
    on: Day = None,
    status_: Annotated[EntryStatus | None, Query(alias="status")] = None,
    drug: Annotated[str | None, Query(max_length=200, description="drug name contains")] = None,
    open_only: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: Principal = Depends(current_principal),
) -> Page[EntryOut]:
    day = on or clock.today()
    query = _filtered(day, status_, drug, open_only)
    rows, next_cursor = await paginate(uow.session, query, (ListEntryVersion.entry_id,), cursor, limit)
    return Page[EntryOut](items=[entry_out(r, day) for r in rows], next_cursor=next_cursor)


@router.get(".csv", response_class=StreamingResponse)
async def export_list(uow: Uow, on: Day = None, _: Principal = Depends(current_principal)) -> StreamingResponse:
    """The list on a day in the bulk-load format (a loaded export reloads as 'unchanged')."""
    day = on or clock.today()
    rows = (await uow.session.scalars(_filtered(day, None, None, False).order_by(ListEntryVersion.entry_id))).all()
    lines = [entry_to_row(list_repo.to_domain(r), r.change_note) for r in rows]
    return csv_response(LIST_COLUMNS, lines, f"cdf-list-{day.isoformat()}.csv")


def _filtered(day: date, status_: EntryStatus | None, drug: str | None, open_only: bool) -> Any:
    query = list_repo.versions_on(day)
    if status_ is not None:
        query = query.where(ListEntryVersion.status == status_.value)
    if drug:
        query = query.where(ListEntryVersion.drug_name.ilike(f"%{drug}%"))
    if open_only:
        query = query.where(
            ListEntryVersion.status == EntryStatus.OPEN.value,
            ListEntryVersion.managed_access_start <= day,
            (ListEntryVersion.managed_access_end.is_(None)) | (ListEntryVersion.managed_access_end >= day),
        )
    return query


@router.get("/{entry_id}", response_model=EntryOut)
async def read_entry(
    entry_id: str, uow: Uow, response: Response, on: Day = None, _: Principal = Depends(current_principal)
) -> EntryOut:
    day = on or clock.today()
    row = await list_repo.entry_on(uow.session, entry_id, day)
    if row is None:
        raise NotFound(f"list entry {entry_id} is not on the list on {day.isoformat()}")
    latest = await list_repo.latest_version(uow.session, entry_id)
    set_etag(response, latest.version if latest else row.version)
    return entry_out(row, day)


@router.get("/{entry_id}/versions", response_model=list[EntryOut])
async def entry_history(entry_id: str, uow: Uow, _: Principal = Depends(current_principal)) -> list[EntryOut]:
    rows = await list_repo.history(uow.session, entry_id)
    if not rows:
        raise NotFound(f"list entry {entry_id} not found")
    return [entry_out(r, r.effective_from) for r in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EntryOut, openapi_extra=IDEMPOTENT)
async def create_entry(
    body: EntryIn,
    request: Request,
    response: Response,
    uow: Uow,
    runtime: Runtime,
    principal: Principal = Depends(require_roles(*LIST_EDITOR_ROLES)),
) -> Any:
    idem = IdempotentRequest(request, principal, body)
    if (previous := await idem.previous(uow)) is not None:
        return previous
    values = _domain_values(body, {"change_note"})
    row = await create_list_entry(uow, values, change_note=body.change_note, principal=principal)
    out = entry_out(row, row.effective_from)
    await idem.remember(uow, status.HTTP_201_CREATED, out)
    if (first := await idem.commit_or_replay(uow)) is not None:
        return first
    list_cache(runtime).invalidate()
    set_etag(response, row.version)
    return out


@router.post("/{entry_id}/versions", status_code=status.HTTP_201_CREATED, response_model=EntryOut)
async def add_version(
    entry_id: str,
    body: EntryChange,
    response: Response,
    uow: Uow,
    runtime: Runtime,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*LIST_EDITOR_ROLES)),
) -> EntryOut:
    changes = _domain_values(body, {"effective_from", "change_note"})
    change = (changes, body.effective_from, body.change_note)
    return await _new_version(uow, runtime, principal, response, entry_id, if_match, change)


@router.post("/{entry_id}/close", status_code=status.HTTP_201_CREATED, response_model=EntryOut)
async def close_entry(
    entry_id: str,
    body: EntryClose,
    response: Response,
    uow: Uow,
    runtime: Runtime,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*LIST_EDITOR_ROLES)),
) -> EntryOut:
    """Close to new applications from a day (patients already approved keep treatment)."""
    change = ({"status": EntryStatus.CLOSED}, body.effective_from, body.change_note)
    return await _new_version(uow, runtime, principal, response, entry_id, if_match, change)


async def _new_version(
    uow: CdfUnitOfWork,
    runtime: CdfRuntime,
    principal: Principal,
    response: Response,
    entry_id: str,
    if_match: str | None,
    change: tuple[dict[str, Any], date, str | None],
) -> EntryOut:
    changes, effective_from, note = change
    row = await add_list_version(
        uow,
        entry_id,
        changes=changes,
        effective_from=effective_from,
        note=note,
        if_match=if_match,
        principal=principal,
    )
    await uow.commit()
    list_cache(runtime).invalidate()
    set_etag(response, row.version)
    return entry_out(row, row.effective_from)


# the body is the list file itself, read raw (one row per entry version)
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}, "example": _list_file(ENTRY_EXAMPLE)}},
    }
}


@router.post("/import", response_model=ListLoadResult, openapi_extra=CSV_BODY)
@body_limit("list_import_max_bytes", field="file")
async def import_list(
    request: Request, uow: Uow, runtime: Runtime, principal: Principal = Depends(require_roles(*LIST_EDITOR_ROLES))
) -> ListLoadResult:
    """Bulk load (text/csv, one row per entry version). All rows load or none: a 422 lists every
    (row, field, reason). Reloading the same file changes nothing."""
    body = await request.body()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the file must be UTF-8 text", errors=[{"field": "file", "message": "not UTF-8"}]) from None
    try:
        outcome = await load_list_csv(uow.session, text, principal.sub)
    except ListLoadProblems as exc:
        errors = [{"row": p.row, "field": p.field, "message": p.reason} for p in exc.problems]
        raise Unprocessable(f"{len(errors)} problem(s) in the list file; nothing was loaded", errors=errors) from None
    uow.audit(principal, "import", "cdf_list", "bulk", detail=dataclasses.asdict(outcome))
    await uow.commit()
    list_cache(runtime).invalidate()
    return ListLoadResult(**dataclasses.asdict(outcome))
