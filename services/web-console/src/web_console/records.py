"""Read-only pages for the CDF and contract records the platform's mails link to: a validation query,
a provider's forecast outturn (and their lists), and the rows of a CDF application and a SACT submission
(their pages, with the forms, are in cdf/). They show what the API returns to the user."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.apis import ApiProblem
from web_console.deps import CurrentSession, UserApis
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import long_date, money, render

router = APIRouter()
Format = Callable[[Any], str]


def _text(value: Any) -> str:
    if value is None or value == "":
        return "Not given"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(label(v) for v in value) or "None"
    return str(value)


@dataclass(frozen=True)
class Shown:
    key: str
    label: str
    format: Format = _text


def rows(record: dict[str, Any], shown: tuple[Shown, ...]) -> list[tuple[str, str]]:
    return [(s.label, s.format(record.get(s.key))) for s in shown if s.key in record]


def _when(value: Any) -> str:
    return long_date(value) or "Not yet"


def _state(value: Any) -> str:
    return label(value) if value else "Not given"


def _decision(value: Any) -> str:
    if not isinstance(value, dict):
        return _text(value)
    if value.get("approved"):
        return "Approved"
    unmet = ", ".join(value.get("unmet_criteria") or []) or "; ".join(value.get("reasons") or [])
    return f"Not approved: {unmet}" if unmet else "Not approved"


APPLICATION = (
    Shown("reference", "Reference"),
    Shown("status", "Status", _state),
    Shown("decision", "Decision", _decision),
    Shown("provider_ods", "Trust"),
    Shown("drug_name", "Drug"),
    Shown("indication", "Indication"),
    Shown("entry_id", "National list entry"),
    Shown("nhs_number", "NHS number"),
    Shown("date_of_birth", "Date of birth", long_date),
    Shown("clinician_gmc", "Consultant (GMC)"),
    Shown("planned_start", "Planned start", long_date),
    Shown("lapse_due", "Lapses if not started by", long_date),
    Shown("expected_cost", "Expected cost", money),
    Shown("first_administration", "First administration (SACT)", _when),
    Shown("cycles_given", "Cycles given"),
    Shown("final_treatment_date", "Final treatment", _when),
    Shown("stop_reason", "Reason for stopping", _state),
)
SUBMISSION = (
    Shown("submission_id", "Submission"),
    Shown("provider_ods", "Trust"),
    Shown("period", "Month"),
    Shown("source_format", "Format"),
    Shown("status", "Status", _state),
    Shown("rows_total", "Rows"),
    Shown("rows_accepted", "Rows accepted"),
    Shown("rows_rejected", "Rows with problems"),
    Shown("finished_at", "Processed", _when),
)
QUERY = (
    Shown("reference", "Reference"),
    Shown("provider_ods", "Trust"),
    Shown("period", "Month of the return"),
    Shown("status", "Status", _state),
    Shown("challenged_value", "Value challenged", money),
    Shown("lines_count", "Lines"),
    Shown("respond_by", "Respond by", long_date),
    Shown("raised_at", "Raised", long_date),
    Shown("evidence_text", "The trust's evidence"),
    Shown("evidence_reference", "Approval reference given"),
    Shown("resolution_note", "Resolution"),
    Shown("funded_adjustment", "Funded adjustment", money),
)


@router.get("/validation-queries")
async def validation_queries(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    page = await apis.contract.get("/validation-queries", limit=50, cursor=cursor)
    return render(request, "records/validation_queries.html", title="Validation queries", page=page)


@router.get("/validation-queries/{query_id}")
async def validation_query(request: Request, query_id: uuid.UUID, session: CurrentSession, apis: UserApis) -> Response:
    record = await apis.contract.get(f"/validation-queries/{query_id}")
    lines = [
        (
            str(ln["row_number"]),
            ln.get("drug_name") or ln["dmd_id"],
            long_date(ln["administered_on"]),
            money(ln["cost"]),
            label(ln["funding"]),
        )
        for ln in record.get("lines") or []
    ]
    return render(
        request,
        "records/record.html",
        title=f"Validation query {record['reference']}",
        caption="Drug expenditure validation query",
        heading=f"{record['reference']}: {label(record['status'])}",
        rows=rows(record, QUERY),
        table=("Lines queried", ("Row", "Drug", "Given on", "Cost", "Funding"), lines) if lines else None,
        back=("/validation-queries", "Validation queries"),
    )


@router.get("/forecast-outturn")
async def forecast_outturn(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    provider: Annotated[str | None, Query(max_length=5)] = None,
    fy: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    errors, outturn = FormErrors(), None
    if provider or fy or not session.user.is_commissioner:
        try:
            outturn = await apis.contract.get("/forecast-outturn", provider=provider, fy=fy)
        except ApiProblem as problem:
            if problem.status not in (404, 422):
                raise
            errors = FormErrors.from_problem(problem)
    return render(
        request,
        "records/forecast_outturn.html",
        status_code=422 if errors else 200,
        title="Forecast outturn against budget",
        outturn=outturn,
        provider=provider or "",
        fy=fy or "",
        errors=errors or None,
    )
