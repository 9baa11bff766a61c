"""Storing a drug return: validate, pseudonymise, reconcile, place on budget lines, challenge.

Everything of one submission happens in one unit of work: the return, its lines, the validation
query of its provider-month and the events. Submissions of one provider-month are serialised by an
advisory lock, so two arriving together cannot both open "the" query for the month.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text

from casework import clock
from casework.financial_year import financial_year_of
from casework.idempotency import fingerprint
from casework.identifiers import patient_ref
from casework.problems import Conflict, Unprocessable
from contract_service.db.budgets import line_keys, lines_for
from contract_service.db.models import Commitment, DrugReturn, DrugReturnLine, ValidationQuery
from contract_service.domain.budget_lines import FundingSource, choose_line
from contract_service.domain.drug_returns import ReturnLine, period_bounds, submitted_value, validate_return
from contract_service.domain.reconciliation import (
    Authority,
    LineOutcome,
    LineToReconcile,
    group_queries,
    reconcile,
    trust_of,
)
from contract_service.domain.validation_queries import (
    LineFunding,
    QuerySource,
    QueryStatus,
    query_reference,
    respond_by,
)
from contract_service.runtime import ContractUnitOfWork
from contract_service.settings import ContractSettings
from contract_service.use_cases.budget_risk import evaluate_risk


@dataclass(frozen=True)
class Submission:
    provider_ods: str
    period: str
    submission_id: str
    rows: Sequence[Mapping[str, Any]]
    submitted_by: str


async def authorities_for(uow: ContractUnitOfWork, patient_refs: set[str]) -> list[Authority]:
    """Every approval known for these patients (any provider, so a wrong-provider line says so)."""
    if not patient_refs:
        return []
    rows = await uow.session.scalars(select(Commitment).where(Commitment.patient_ref.in_(patient_refs)))
    return [
        Authority(
            id=c.id,
            source=FundingSource(c.source),
            reference=c.source_reference,
            provider_ods=c.provider_ods,
            patient_ref=c.patient_ref,
            dmd_id=c.dmd_id,
            valid_from=c.valid_from,
            valid_until=c.valid_until,
        )
        for c in rows
    ]


async def _existing(uow: ContractUnitOfWork, submission: Submission, content_hash: str) -> DrugReturn | None:
    found = await uow.session.scalar(
        select(DrugReturn).where(
            DrugReturn.provider_ods == submission.provider_ods,
            DrugReturn.period == submission.period,
            DrugReturn.submission_id == submission.submission_id,
        )
    )
    if found is not None and found.content_hash != content_hash:
        raise Conflict(
            f"submission {submission.submission_id} for {submission.period} was already received with other"
            " content; send changes under a new submission_id"
        )
    return found


def _rejected(errors: list[Any]) -> Unprocessable:
    report = [{"row": e.row, "field": e.field, "reason": e.reason} for e in errors]
    return Unprocessable("no valid line in the return: nothing was stored", errors=report)


async def store_return(uow: ContractUnitOfWork, submission: Submission) -> tuple[DrugReturn, bool]:
    """The stored return and whether it was stored now (False: a replay of the same submission)."""
    trust = trust_of(submission.provider_ods)
    await lock_provider_month(uow, trust, submission.period)
    content_hash = fingerprint(list(submission.rows))
    if (found := await _existing(uow, submission, content_hash)) is not None:
        return found, False
    validated = validate_return(submission.period, submission.rows)
    if not validated.lines:
        raise _rejected(validated.errors)
    settings: ContractSettings = uow.settings
    key = settings.patient_ref_key.get_secret_value()
    refs = {line.row: patient_ref(line.nhs_number, key) for line in validated.lines}
    to_reconcile = [_to_reconcile(submission, line, refs[line.row]) for line in validated.lines]
    outcomes = reconcile(to_reconcile, await authorities_for(uow, set(refs.values())))
    fy = financial_year_of(period_bounds(submission.period)[0])
    drug_return = DrugReturn(
        id=uuid.uuid4(),
        provider_ods=submission.provider_ods,
        period=submission.period,
        financial_year=fy.financial_year,
        submission_id=submission.submission_id,
        content_hash=content_hash,
        rows_total=len(submission.rows),
        rows_accepted=len(validated.lines),
        rows_rejected=len(validated.rejected_rows),
        report=[{"row": e.row, "field": e.field, "reason": e.reason} for e in validated.errors],
        submitted_value=submitted_value(validated.lines),
        authorised_value=sum((x.cost for x, o in zip(to_reconcile, outcomes, strict=True) if o.authorised), Decimal(0)),
        challenged_value=Decimal(0),
        created_by=submission.submitted_by,
    )
    uow.session.add(drug_return)
    await uow.session.flush()
    keys = line_keys(await lines_for(uow.session, trust, fy.financial_year))
    stored = [
        _line_row(drug_return, line, refs[line.row], outcome, choose_line(keys, outcome.source, line.dmd_id), fy.month)
        for line, outcome in zip(validated.lines, outcomes, strict=True)
    ]
    uow.session.add_all(stored)
    await uow.session.flush()
    by_row = {s.row_number: s for s in stored}
    for draft in group_queries(to_reconcile, outcomes):  # one draft: a return is one provider-month
        challenged = [by_row[row] for row in draft.rows]
        query = await _challenge(uow, draft.provider_ods, draft.period, fy.financial_year, challenged, settings)
        drug_return.query_id, drug_return.challenged_value = query.id, draft.challenged_value
    await evaluate_risk(uow, trust, fy.financial_year)
    return drug_return, True


def _to_reconcile(submission: Submission, line: ReturnLine, ref: str) -> LineToReconcile:
    return LineToReconcile(
        row=line.row,
        provider_ods=submission.provider_ods,
        period=submission.period,
        patient_ref=ref,
        dmd_id=line.dmd_id,
        administered_on=line.administered_on,
        cost=line.cost,
        approval_reference=line.approval_reference,
    )


def _line_row(
    drug_return: DrugReturn, line: ReturnLine, ref: str, outcome: LineOutcome, budget_line: uuid.UUID | None, month: int
) -> DrugReturnLine:
    return DrugReturnLine(
        id=uuid.uuid4(),
        return_id=drug_return.id,
        row_number=line.row,
        provider_ods=drug_return.provider_ods,
        period=drug_return.period,
        financial_year=drug_return.financial_year,
        fy_month=month,
        nhs_number=line.nhs_number,
        patient_ref=ref,
        dmd_id=line.dmd_id,
        drug_name=line.drug_name,
        indication=line.indication,
        administered_on=line.administered_on,
        quantity=line.quantity,
        cost=line.cost,
        approval_reference=line.approval_reference,
        authority_id=outcome.authority_id,
        funding_source=outcome.source.value,
        budget_line_id=budget_line,
        funding=LineFunding.FUNDED if outcome.authorised else LineFunding.CHALLENGED,
        reason=outcome.reason,
    )


async def _challenge(
    uow: ContractUnitOfWork, trust: str, period: str, fy: str, lines: list[DrugReturnLine], settings: ContractSettings
) -> ValidationQuery:
    """Put the lines on the provider-month's query: the open one still awaiting a response, else a new one."""
    query = await uow.session.scalar(
        select(ValidationQuery).where(
            ValidationQuery.provider_ods == trust,
            ValidationQuery.period == period,
            ValidationQuery.status == QueryStatus.RAISED,
            ValidationQuery.source == QuerySource.DRUG_RETURN,  # a CDF challenge keeps its own query
        )
    )
    added = sum((line.cost for line in lines), Decimal(0))
    if query is None:
        query = await new_query(uow, trust, period, fy=fy, settings=settings, source=QuerySource.DRUG_RETURN)
    query.lines_count += len(lines)
    query.challenged_value += added
    await uow.session.flush()
    for line in lines:
        line.query_id = query.id
    emit_raised(uow, query)
    uow.audit("system:contract", "challenge", "validation_query", query.id, detail={"lines": len(lines)})
    return query


async def new_query(
    uow: ContractUnitOfWork,
    trust: str,
    period: str,
    *,
    fy: str,
    settings: ContractSettings,
    source: QuerySource,
    **about: Any,
) -> ValidationQuery:
    """A raised query of the provider-month, numbered after the month's others, with nothing on it yet.
    The caller holds the provider-month's lock (`lock_provider_month`), so the number is not taken twice."""
    sequence = 1 + (
        await uow.session.scalar(
            select(func.coalesce(func.max(ValidationQuery.sequence), 0)).where(
                ValidationQuery.provider_ods == trust, ValidationQuery.period == period
            )
        )
        or 0
    )
    query = ValidationQuery(
        id=uuid.uuid4(),
        reference=query_reference(trust, period, sequence),
        provider_ods=trust,
        period=period,
        financial_year=fy,
        sequence=sequence,
        status=QueryStatus.RAISED,
        lines_count=0,
        challenged_value=Decimal(0),
        respond_by=respond_by(clock.today(), settings.validation_query_response_days),
        source=source,
        **about,
    )
    uow.session.add(query)
    return query


def emit_raised(uow: ContractUnitOfWork, query: ValidationQuery) -> None:
    uow.emit(
        "contract.validation_query.raised",
        subject=str(query.id),
        payload={
            "query_id": query.id,
            "reference": query.reference,
            "provider_ods": query.provider_ods,
            "period": query.period,
            "lines_count": query.lines_count,
            "challenged_value": query.challenged_value,
            "respond_by": query.respond_by,
            "revision": query.version,
            "detection_id": query.detection_id,
        },
    )


async def lock_provider_month(uow: ContractUnitOfWork, trust: str, period: str) -> None:
    """Serialise what opens or numbers a provider-month's queries (returns arriving, CDF challenges)."""
    await uow.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"drug-return:{trust}:{period}"}
    )
