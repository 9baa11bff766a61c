"""SACT submissions: upload (CSV streamed, or a JSON batch), progress and the row-by-row report."""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.config import JsonDict
from sqlalchemy import func, select

from casework.auth import Principal, ensure_visible, require_roles
from casework.csv_export import csv_response
from casework.financial_year import MONTH_PATTERN
from casework.identifiers import OdsCode
from casework.openapi import problems
from casework.pagination import Page, paginate
from casework.problems import NotFound, Problem, Unprocessable
from casework.request_body import body_limit
from cdf_service.access import SACT_READER_ROLES, SACT_SUBMITTER_ROLES
from cdf_service.api.common import from_row
from cdf_service.db.models import SactProblem, SactSubmission
from cdf_service.domain.sact_submissions import SubmissionStatus
from cdf_service.runtime import CdfRuntime, Runtime, Uow
from cdf_service.sact_schema import SCHEMAS, HeaderError, schema_for
from cdf_service.use_cases import sact_intake
from cdf_service.use_cases.sact_submissions import submit as submit_sact

router = APIRouter(prefix="/sact/submissions", tags=["SACT"])
REPORT_PREVIEW = 100
PERIOD = re.compile(MONTH_PATTERN)


class SubmissionKey(BaseModel):
    provider_ods: OdsCode
    period: str = Field(pattern=PERIOD.pattern, description="the month the data covers, YYYY-MM")
    submission_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")


VERSION_HELP = "the SACT version of the data, 4 (v4.0) or 3 (v3.0); without it, read from the header"

# The examples' record: the first pembrolizumab infusion of a patient at RRV, as SACT v4.0 items (a 999 test
# NHS number); the same record as a CSV file is the text/csv example.
SACT_RECORD_EXAMPLE: JsonDict = {
    "NHS_NUMBER": "9990000107",
    "NHS_NUMBER_STATUS_INDICATOR_CODE": "01",
    "PERSON_BIRTH_DATE": "1958-03-14",
    "ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER": "RRV",
    "PRIMARY_DIAGNOSIS_ICD_10": "C34.9",
    "INTENT_OF_TREATMENT": "2",
    "NON_CURATIVE_LINE_OF_TREATMENT": 1,
    "REGIMEN": "PEMBROLIZUMAB",
    "START_DATE_OF_REGIMEN": "2026-05-04",
    "CYCLE_NUMBER": 1,
    "START_DATE_OF_CYCLE": "2026-05-04",
    "DRUG_NAME": "PEMBROLIZUMAB",
    "DAILY_TOTAL_DOSE_PER_ADMINISTRATION": 200,
    "UNIT_OF_MEASUREMENT_SNOMED_CT_DM_D": "258684004",
    "ROUTE_OF_ADMINISTRATION_SNOMED_CT_DM_D": "47625008",
    "ADMINISTRATION_TIMESTAMP_INFUSION": "2026-05-04T10:30:00",
    "CYCLE_LENGTH_IN_DAYS": 21,
    "ORGANISATION_IDENTIFIER_OF_SACT_ADMINISTRATION": "RRV",
}
SACT_CSV_EXAMPLE = ",".join(SACT_RECORD_EXAMPLE) + "\n" + ",".join(map(str, SACT_RECORD_EXAMPLE.values())) + "\n"


class SactBatch(SubmissionKey):
    """A JSON batch: records keyed by the SACT item headers of one version (missing keys are empty)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider_ods": "RRV",
                    "period": "2026-05",
                    "submission_id": "RRV-SACT-2026-05",
                    "sact_version": "4",
                    "records": [SACT_RECORD_EXAMPLE],
                }
            ]
        }
    )

    sact_version: str | None = Field(default=None, description=VERSION_HELP, examples=["4"])
    records: list[dict[str, str | int | float | None]] = Field(min_length=1)

    @field_validator("sact_version")
    @classmethod
    def _known_version(cls, version: str | None) -> str | None:
        if version is not None and schema_for(version) is None:
            raise ValueError(f"not a SACT version: {version!r} (send 4 or 3)")
        return version


class RowProblemOut(BaseModel):
    row: int
    field: str
    reason: str


class SubmissionOut(BaseModel):
    id: uuid.UUID
    provider_ods: str
    period: str
    submission_id: str
    source_format: str
    sact_version: str | None = Field(description="the file's SACT version, e.g. 4.0")
    status: SubmissionStatus
    bytes_received: int
    chunks_total: int
    chunks_done: int
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    matched: dict[str, int]
    error: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    report: list[RowProblemOut] = Field(description=f"the first {REPORT_PREVIEW} problems; all at /report")
    report_total: int


async def submission_out(uow: Any, row: SactSubmission) -> SubmissionOut:
    preview = (
        await uow.session.scalars(
            select(SactProblem)
            .where(SactProblem.submission_id == row.id)
            .order_by(SactProblem.row_no, SactProblem.id)
            .limit(REPORT_PREVIEW)
        )
    ).all()
    total = await uow.session.scalar(select(func.count()).where(SactProblem.submission_id == row.id))
    return from_row(
        SubmissionOut,
        row,
        submission_id=row.submission_ref,
        sact_version=_version_text(row.sact_version),
        report=[RowProblemOut(row=p.row_no, field=p.field, reason=p.reason) for p in preview],
        report_total=total or 0,
    )


def _version_text(version: int | None) -> str | None:
    return f"{version}.0" if version is not None else None


def _declared(version: str | None) -> int | None:
    """The version an upload declares (None: read from its header); 422 for one that is not SACT's."""
    if version is None:
        return None
    schema = schema_for(version)
    if schema is None:
        message = f"not a SACT version: {version!r}; send {' or '.join(str(v) for v in SCHEMAS)}"
        raise Unprocessable(message, errors=[{"field": "sact_version", "message": message}])
    return schema.version


def _refused_header(exc: HeaderError) -> Unprocessable:
    """422 naming every column that is wrong and the version the file was read as (nothing stored)."""
    errors = [{"field": p.field, "message": p.reason} for p in exc.problems]
    expected = exc.expected
    detail = (
        f"the file's header is not a {expected.title} header: {exc}; the items of each version: "
        f"GET /api/v1/sact/schemas/{expected.version}"
    )
    return Unprocessable(detail, errors=errors, expected_version=f"{expected.version}.0")


def _key_from_query(provider_ods: str | None, period: str | None, submission_id: str | None) -> SubmissionKey:
    try:
        # validated as a body is: a missing part is a 422 at its name
        return SubmissionKey.model_validate(
            {"provider_ods": provider_ods, "period": period, "submission_id": submission_id}
        )
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> Unprocessable:
    errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
    return Unprocessable("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmissionOut,
    responses={
        **problems(415),  # a body neither CSV nor JSON
        200: {"model": SubmissionOut, "description": "The same trust, period and submission id again: the first"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {
                    "schema": {"type": "string", "description": "header of national SACT field names"},
                    "example": SACT_CSV_EXAMPLE,
                },
                "application/json": {"schema": SactBatch.model_json_schema()},
            }
        }
    },
)
@body_limit("sact_upload_max_bytes", json="sact_json_max_bytes")
async def submit(
    request: Request,
    response: Response,
    uow: Uow,
    runtime: Runtime,
    provider_ods: Annotated[str | None, Query(description="CSV uploads: the submitting trust")] = None,
    period: Annotated[str | None, Query(description="CSV uploads: YYYY-MM")] = None,
    submission_id: Annotated[str | None, Query(description="CSV uploads: the trust's id for this file")] = None,
    sact_version: Annotated[str | None, Query(description=f"CSV uploads: {VERSION_HELP}")] = None,
    principal: Principal = Depends(require_roles(*SACT_SUBMITTER_ROLES)),
) -> Any:
    """202 with the submission; processing runs in the background (poll GET /sact/submissions/{id}).
    The same trust + period + submission id again returns the first submission (200), unless it failed."""
    key, batch, declared = await _upload(request, runtime, provider_ods, period, submission_id, sact_version)
    ensure_visible(principal, key.provider_ods, "provider", key.provider_ods)
    piece_bytes = runtime.settings.sact_chunk_bytes
    if batch is not None:
        pieces = functools.partial(sact_intake.record_pieces, batch.records, piece_bytes, declared)
    else:
        pieces = functools.partial(sact_intake.csv_pieces, request.stream(), piece_bytes)
    source_format = "json" if batch else "csv"
    try:
        sent = await submit_sact(
            uow, runtime, key, pieces=pieces, declared=declared, source_format=source_format, principal=principal
        )
    except HeaderError as exc:
        raise _refused_header(exc) from None
    if not sent.accepted:  # the first submission stands
        return JSONResponse((await submission_out(uow, sent.submission)).model_dump(mode="json"), status_code=200)
    response.headers["Location"] = f"/api/v1/sact/submissions/{sent.submission.id}"
    if sent.whole:  # stored with its status row just now: nothing processed yet, no problems to report
        return _just_stored(sent.submission)
    async with runtime.unit_of_work() as fresh:
        stored = await fresh.session.get(SactSubmission, sent.submission.id)
        assert stored is not None
        return await submission_out(fresh, stored)


async def _upload(
    request: Request,
    runtime: CdfRuntime,
    provider_ods: str | None,
    period: str | None,
    submission_id: str | None,
    sact_version: str | None,
) -> tuple[SubmissionKey, SactBatch | None, int | None]:
    """The upload's key, its JSON batch (None for a CSV file) and the version it declares; 415 for a body
    that is neither."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        batch = await _json_batch(request, runtime)
        return batch, batch, _declared(batch.sact_version)
    if content_type in ("text/csv", "application/csv", "text/plain", "application/octet-stream"):
        return _key_from_query(provider_ods, period, submission_id), None, _declared(sact_version)
    raise Problem("send text/csv or application/json", status=415, title="Unsupported media type")


def _just_stored(submission: SactSubmission) -> SubmissionOut:
    return from_row(
        SubmissionOut,
        submission,
        submission_id=submission.submission_ref,
        sact_version=_version_text(submission.sact_version),
        report=[],
        report_total=0,
    )


async def _json_batch(request: Request, runtime: CdfRuntime) -> SactBatch:
    body = await request.body()
    try:
        data = json.loads(body)
    except ValueError:
        raise Unprocessable("the body is not JSON", errors=[{"field": "body", "message": "not JSON"}]) from None
    limit = runtime.settings.sact_json_max_records
    if isinstance(data, dict) and isinstance(data.get("records"), list) and len(data["records"]) > limit:
        message = f"at most {limit} records per JSON batch; send larger submissions as CSV"
        raise Unprocessable(message, errors=[{"field": "records", "message": message}])
    try:
        return SactBatch.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


# --- reading ---------------------------------------------------------------------------------------


async def _visible(uow: Any, principal: Principal, submission_id: uuid.UUID) -> SactSubmission:
    row = await uow.session.get(SactSubmission, submission_id)
    if row is None:
        raise NotFound(f"SACT submission {submission_id} not found")
    ensure_visible(principal, row.provider_ods, "SACT submission", submission_id)
    return row


@router.get("", response_model=Page[SubmissionOut])
async def list_submissions(
    uow: Uow,
    provider: OdsCode | None = None,
    period: Annotated[str | None, Query(pattern=PERIOD.pattern)] = None,
    status_: Annotated[SubmissionStatus | None, Query(alias="status")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    principal: Principal = Depends(require_roles(*SACT_READER_ROLES)),
) -> Page[SubmissionOut]:
    query = select(SactSubmission)
    if (own := principal.org_filter()) is not None:
        query = query.where(SactSubmission.provider_ods.startswith(own))
    if provider:
        query = query.where(SactSubmission.provider_ods == provider.upper())
    if period:
        query = query.where(SactSubmission.period == period)
    if status_:
        query = query.where(SactSubmission.status == status_)
    keys = (SactSubmission.created_at, SactSubmission.id)
    rows, next_cursor = await paginate(uow.session, query, keys, cursor, limit)
    items = [await submission_out(uow, r) for r in rows]
    return Page[SubmissionOut](items=items, next_cursor=next_cursor)


@router.get("/{submission_id}", response_model=SubmissionOut)
async def read_submission(
    submission_id: uuid.UUID, uow: Uow, principal: Principal = Depends(require_roles(*SACT_READER_ROLES))
) -> SubmissionOut:
    """Progress (pieces and rows so far) and the first problems, readable while processing runs."""
    row = await _visible(uow, principal, submission_id)
    out = await submission_out(uow, row)
    uow.audit(principal, "read", "sact_submission", row.id)
    await uow.commit()
    return out


@router.get("/{submission_id}/report", response_model=Page[RowProblemOut])
async def report(
    submission_id: uuid.UUID,
    uow: Uow,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    principal: Principal = Depends(require_roles(*SACT_READER_ROLES)),
) -> Page[RowProblemOut]:
    await _visible(uow, principal, submission_id)
    query = select(SactProblem).where(SactProblem.submission_id == submission_id)
    rows, next_cursor = await paginate(uow.session, query, (SactProblem.row_no, SactProblem.id), cursor, limit)
    items = [RowProblemOut(row=p.row_no, field=p.field, reason=p.reason) for p in rows]
    return Page[RowProblemOut](items=items, next_cursor=next_cursor)


@router.get("/{submission_id}/report.csv", response_class=StreamingResponse)
async def report_csv(
    submission_id: uuid.UUID,
    uow: Uow,
    runtime: Runtime,
    principal: Principal = Depends(require_roles(*SACT_READER_ROLES)),
) -> StreamingResponse:
    await _visible(uow, principal, submission_id)
    return csv_response(
        ("row", "field", "reason"), _all_problems(runtime, submission_id), f"sact-report-{submission_id}.csv"
    )


async def _all_problems(runtime: CdfRuntime, submission_id: uuid.UUID) -> AsyncIterator[dict[str, Any]]:
    """Every problem, a page at a time in its own session (the response streams after the request's ends)."""
    cursor: str | None = None
    while True:
        async with runtime.unit_of_work() as uow:
            query = select(SactProblem).where(SactProblem.submission_id == submission_id)
            keys = (SactProblem.row_no, SactProblem.id)
            rows, cursor = await paginate(uow.session, query, keys, cursor, 500)
            lines = [{"row": p.row_no, "field": p.field, "reason": p.reason} for p in rows]
        for line in lines:
            yield line
        if cursor is None:
            return
