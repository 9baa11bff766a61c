"""Consumers of CDF events: approvals become commitments, ended approvals release what was not spent,
forecasts update the outturn of the provider's CDF budget lines, a challenged unapproved use becomes a
validation query."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.db import table_of
from casework.direct import DirectStatement, fetch
from casework.events.catalogue.cdf import (
    ApplicationApproved,
    ApplicationWithdrawn,
    ApprovalLapsed,
    CdfApplicationRef,
    ForecastUpdated,
    TreatmentStopped,
    UnapprovedUseChallenged,
)
from casework.inbox import Handler, ReceivedEvent
from contract_service.db.models import CdfForecast
from contract_service.domain.budget_lines import FundingSource
from contract_service.domain.commitments import CommitmentStatus
from contract_service.domain.reconciliation import trust_of
from contract_service.runtime import ContractUnitOfWork
from contract_service.use_cases.budget_risk import evaluate_risk
from contract_service.use_cases.commitments import Approval, record_commitment, release_commitment
from contract_service.use_cases.unapproved_use import challenge_unapproved_use


def _approval(ref: CdfApplicationRef, amount: Decimal, planned_start: date, valid_from: date | None) -> Approval:
    return Approval(
        source=FundingSource.CDF,
        source_id=ref.application_id,
        reference=ref.reference,
        provider_ods=ref.provider_ods,
        patient_ref=ref.patient_ref,
        dmd_id=ref.dmd_id,
        entry_id=ref.entry_id,
        amount=amount,
        valid_from=valid_from,
        financial_year_date=planned_start,
    )


async def record_cdf_commitment(uow: ContractUnitOfWork, event: ReceivedEvent[ApplicationApproved]) -> None:
    approved = event.payload
    approval = _approval(approved, approved.expected_cost, approved.planned_start, approved.approved_at.date())
    await record_commitment(uow, approval, event.envelope.id)


async def release_lapsed(uow: ContractUnitOfWork, event: ReceivedEvent[ApprovalLapsed]) -> None:
    lapsed = event.payload
    approval = _approval(lapsed, lapsed.committed_amount, lapsed.planned_start, None)
    await release_commitment(
        uow, approval, CommitmentStatus.LAPSED, ended_on=lapsed.lapse_due, spent=Decimal(0), event_id=event.envelope.id
    )


async def release_withdrawn(uow: ContractUnitOfWork, event: ReceivedEvent[ApplicationWithdrawn]) -> None:
    withdrawn = event.payload
    day = withdrawn.withdrawn_at.date()
    approval = _approval(withdrawn, Decimal(0), day, None)
    # spent = what the drug returns show against the approval so far
    await release_commitment(
        uow, approval, CommitmentStatus.WITHDRAWN, ended_on=day, spent=None, event_id=event.envelope.id
    )


async def release_stopped(uow: ContractUnitOfWork, event: ReceivedEvent[TreatmentStopped]) -> None:
    stopped = event.payload
    approval = _approval(stopped, stopped.cost_to_date, stopped.final_treatment_date, None)
    await release_commitment(
        uow,
        approval,
        CommitmentStatus.STOPPED,
        ended_on=stopped.final_treatment_date,
        spent=stopped.cost_to_date,
        event_id=event.envelope.id,
    )


def _upsert_statement() -> Any:
    """Insert or replace the forecast of a provider x entry x year unless the stored one is newer."""
    table = table_of(CdfForecast)
    columns: tuple[str, ...] = ("provider_ods", "entry_id", "financial_year", "dmd_id", "as_of", "event_time")
    columns += ("actual_to_date", "forecast_outturn", "months")
    insert = pg_insert(table).values({c: bindparam(c, type_=table.c[c].type) for c in columns})
    newer = tuple_(table.c.as_of, table.c.event_time) <= tuple_(insert.excluded.as_of, insert.excluded.event_time)
    return insert.on_conflict_do_update(
        index_elements=[table.c.provider_ods, table.c.entry_id, table.c.financial_year],
        set_={c: insert.excluded[c] for c in columns} | {"updated_at": func.now()},
        where=newer,
    ).returning(table.c.entry_id)


_UPSERT = DirectStatement(_upsert_statement())  # built once, run on the driver: every event


async def update_forecast(uow: ContractUnitOfWork, event: ReceivedEvent[ForecastUpdated]) -> None:
    """Keep the latest forecast per provider x entry x year (an older event arriving late changes
    nothing); when it changed, the provider's lines are re-evaluated against their budgets just before
    the transaction commits, once however many of the provider's forecasts the transaction changed
    (the events fetched together are handled in one transaction: a SACT submission moves several)."""
    forecast = event.payload
    changed = await fetch(
        uow.session,
        _UPSERT,
        {
            "provider_ods": forecast.provider_ods,
            "entry_id": forecast.entry_id,
            "financial_year": forecast.financial_year,
            "dmd_id": forecast.dmd_id,
            "as_of": forecast.as_of,
            "event_time": event.envelope.time,
            "actual_to_date": forecast.actual_to_date,
            "forecast_outturn": forecast.forecast_outturn,
            "months": [m.model_dump(mode="json") for m in forecast.months],
        },
    )
    if changed:
        trust, fy = trust_of(forecast.provider_ods), forecast.financial_year
        uow.before_commit(("budget-risk", trust, fy), partial(evaluate_risk, uow, trust, fy))


async def raise_unapproved_use_query(uow: ContractUnitOfWork, event: ReceivedEvent[UnapprovedUseChallenged]) -> None:
    challenged = event.payload
    await challenge_unapproved_use(uow, challenged)


HANDLERS: dict[str, Handler] = {
    "cdf.application.approved": record_cdf_commitment,
    "cdf.approval.lapsed": release_lapsed,
    "cdf.application.withdrawn": release_withdrawn,
    "cdf.treatment.stopped": release_stopped,
    "cdf.forecast.updated": update_forecast,
    "cdf.unapproved_use.challenged": raise_unapproved_use_query,
}
