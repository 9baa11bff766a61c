"""The CDF's challenge of an unapproved use, on the contract side: the trust's spend on that drug for
that patient, from its first administration, withheld on a validation query of its own.

The lines are those the trust's drug returns have funded so far; a line already on another query
stays there (one line, one challenge). A query with no lines yet still records the challenge: the
trust answers it like any other, and its returns' later lines with no authority are challenged by
reconciliation as usual.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from functools import partial

from sqlalchemy import func, select

from casework.events.catalogue.cdf import UnapprovedUseChallenged
from casework.financial_year import financial_year_of
from contract_service.db.models import DrugReturn, DrugReturnLine, ValidationQuery
from contract_service.domain.reconciliation import trust_of
from contract_service.domain.validation_queries import LineFunding, QuerySource, unapproved_use_subject
from contract_service.runtime import ContractUnitOfWork
from contract_service.settings import ContractSettings
from contract_service.use_cases.budget_risk import evaluate_risk
from contract_service.use_cases.drug_returns import emit_raised, lock_provider_month, new_query


async def challenge_unapproved_use(uow: ContractUnitOfWork, challenged: UnapprovedUseChallenged) -> ValidationQuery:
    """The detection's query (raised now, or the one an earlier delivery of the challenge raised)."""
    found = await uow.session.scalar(
        select(ValidationQuery).where(ValidationQuery.detection_id == challenged.detection_id)
    )
    if found is not None:
        return found
    trust, first = trust_of(challenged.provider_ods), challenged.first_administration
    period, fy = f"{first:%Y-%m}", financial_year_of(first).financial_year
    await lock_provider_month(uow, trust, period)
    settings: ContractSettings = uow.settings
    query = await new_query(
        uow,
        trust,
        period,
        fy=fy,
        settings=settings,
        source=QuerySource.CDF_UNAPPROVED_USE,
        detection_id=challenged.detection_id,
        subject=unapproved_use_subject(challenged.drug_name, first, challenged.cycles),
    )
    await uow.session.flush()
    lines = await _funded_lines(uow, trust, challenged)
    await _withhold(uow, query, lines)
    emit_raised(uow, query)
    uow.audit(
        f"system:contract ({challenged.decided_by})",
        "challenge",
        "validation_query",
        query.id,
        detail={"lines": len(lines), "detection_id": str(challenged.detection_id)},
    )
    for year in {line.financial_year for line in lines}:
        uow.before_commit(("budget-risk", trust, year), partial(evaluate_risk, uow, trust, year))
    return query


async def _funded_lines(
    uow: ContractUnitOfWork, trust: str, challenged: UnapprovedUseChallenged
) -> list[DrugReturnLine]:
    statement = (
        select(DrugReturnLine)
        .where(
            func.left(DrugReturnLine.provider_ods, 3) == trust,
            DrugReturnLine.patient_ref == challenged.patient_ref,
            DrugReturnLine.dmd_id == challenged.dmd_id,
            DrugReturnLine.administered_on >= challenged.first_administration,
            DrugReturnLine.funding == LineFunding.FUNDED,
            DrugReturnLine.query_id.is_(None),
        )
        .order_by(DrugReturnLine.administered_on, DrugReturnLine.id)
        .with_for_update()
    )
    return list((await uow.session.scalars(statement)).all())


async def _withhold(uow: ContractUnitOfWork, query: ValidationQuery, lines: list[DrugReturnLine]) -> None:
    """The lines leave funding for the query; their returns' figures say so too."""
    moved: dict[object, Decimal] = defaultdict(Decimal)
    for line in lines:
        line.funding, line.query_id = LineFunding.CHALLENGED, query.id
        line.reason = query.subject
        moved[line.return_id] += line.cost
    query.lines_count, query.challenged_value = len(lines), sum(moved.values(), Decimal(0))
    for drug_return in (await uow.session.scalars(select(DrugReturn).where(DrugReturn.id.in_(moved)))).all():
        drug_return.authorised_value -= moved[drug_return.id]
        drug_return.challenged_value += moved[drug_return.id]
    await uow.session.flush()
