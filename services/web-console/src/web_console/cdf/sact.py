"""SACT uploads: the trust's monthly CSV streamed to cdf-service (never held whole here), the past
submissions, and a submission's page: its progress while processed (pieces and rows so far; the page
polls its own progress region, console.mjs) and then the per-row problem report, on the page and as CSV."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from web_console.apis import ApiProblem, Apis
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import render
from web_console.paging import passed_through_csv
from web_console.records import SUBMISSION, rows

router = APIRouter(prefix="/sact")
UPLOAD_FIELDS = (
    Field("period", "Month of the data", hint="As year and month, for example 2026-11", width="10"),
    Field(
        "submission_id", "Your reference for this file", hint="For example, the file's name in your system", width="20"
    ),
)
FILE = Field("file", "The SACT file (CSV)", hint="SACT v4.0 or v3.0, with the national item headers")
PIECE = 1 << 20  # what the console reads of the upload at a time


async def upload_pieces(upload: UploadFile) -> AsyncIterator[bytes]:
    """An upload passed on piece by piece, never held whole."""
    while piece := await upload.read(PIECE):
        yield piece


def _upload_page(
    request: Request,
    submissions: list[dict[str, Any]],
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "cdf/sact_upload.html",
        status_code=status_code,
        title="Send SACT data",
        fields=UPLOAD_FIELDS,
        file_field=FILE,
        values=values or {},
        errors=errors,
        shown_fields=anchors((*UPLOAD_FIELDS, FILE)),
        submissions=submissions,
    )


async def _past(apis: Apis) -> list[dict[str, Any]]:
    return (await apis.cdf.get("/sact/submissions", limit=20))["items"]


@router.get("/upload")
async def upload_page(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    return _upload_page(request, await _past(apis))


@router.post("/upload")
async def upload(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    body, shown, errors = read(form, UPLOAD_FIELDS)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        errors.add("file", "Choose the SACT file to send")
    elif not file.filename.lower().endswith(".csv") or (file.content_type or "text/csv") not in (
        "text/csv",
        "application/vnd.ms-excel",
        "application/octet-stream",
        "text/plain",
    ):
        errors.add("file", f"{file.filename} is not a CSV file: send the SACT extract as .csv")
    if not errors and isinstance(file, UploadFile):
        params = {"provider_ods": session.user.org, **body}
        try:
            reply = await apis.cdf.call(
                "POST",
                "/sact/submissions",
                params=params,
                content=upload_pieces(file),
                headers={"Content-Type": "text/csv"},
            )
            return RedirectResponse(f"/sact/submissions/{reply.body['id']}", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (403, 409, 413, 415, 422):
                raise
            errors = FormErrors.from_problem(problem, labels_of(UPLOAD_FIELDS))
            if problem.errors and not {e["field"] for e in problem.errors} & {f.name for f in UPLOAD_FIELDS}:
                errors = _header_refused(file.filename or "The file", problem)
    return _upload_page(request, await _past(apis), shown, errors, 422)


def _header_refused(filename: str, problem: ApiProblem) -> FormErrors:
    """The file's header is of no SACT version: said at the file field, every wrong column listed."""
    errors = FormErrors()
    version = problem.body.get("expected_version")
    read_as = f" (read as SACT v{version})" if version else ""
    errors.add("file", f"{filename} was refused and nothing was stored: its header is not a SACT header{read_as}")
    errors.general += [f"{e['field']}: {e['message']}" for e in problem.errors]
    return errors


def _progress(record: dict[str, Any]) -> dict[str, Any]:
    done, total = record["chunks_done"], record["chunks_total"]
    finished = record["status"] in ("processed", "failed")
    share = 100 if finished else (round(100 * done / total) if total else 0)
    return {"finished": finished, "share": share, "done": done, "total": total}


@router.get("/submissions/{submission_id}")
async def submission_page(
    request: Request, submission_id: uuid.UUID, session: CurrentSession, apis: UserApis
) -> Response:
    record = await apis.cdf.get(f"/sact/submissions/{submission_id}")
    matched = [(label(k), str(v)) for k, v in (record.get("matched") or {}).items()]
    return render(
        request,
        "cdf/sact_submission.html",
        title=f"SACT submission {record['submission_id']}",
        record=record,
        rows=rows(record, SUBMISSION) + matched,
        progress=_progress(record),
        problems=[(p["row"], p["field"], p["reason"]) for p in record.get("report") or []],
    )


@router.get("/submissions/{submission_id}/report.csv")
async def report_csv(request: Request, submission_id: uuid.UUID, session: CurrentSession, apis: UserApis) -> Response:
    return await passed_through_csv(apis.cdf, f"/sact/submissions/{submission_id}/report.csv", {})
