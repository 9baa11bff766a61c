"""The at-risk alert of a provider's budget lines: state kept on each line, so it fires once per crossing
and clears when the line is back within the margin."""

from __future__ import annotations

from decimal import Decimal

from contract_service.db.alerts import clear_alerts, record_alert
from contract_service.db.budgets import contract_for, set_at_risk
from contract_service.db.outturn import figures_of
from contract_service.domain.outturn import risk_step
from contract_service.domain.reconciliation import trust_of
from contract_service.runtime import ContractUnitOfWork


async def evaluate_risk(uow: ContractUnitOfWork, provider_ods: str, fy: str) -> None:
    """Step every line's at-risk state; on a crossing record the alert and publish contract.budget.at_risk
    (in this unit of work); a line back within the margin clears its alert.
    The lines are locked first, so two evaluations of one provider cannot both see the crossing, and the
    figures are read in a later statement, so they include what an evaluation that held the lock committed."""
    margin: Decimal = uow.settings.budget_at_risk_margin_pct
    provider = trust_of(provider_ods)
    figures = await figures_of(uow.session, provider, fy, lock=True)
    for line in figures.lines:
        outturn = figures.by_line[line.id]
        step = risk_step(line.at_risk, outturn.budget, outturn.forecast_outturn, margin)
        if step.at_risk != line.at_risk:
            await set_at_risk(uow.session, line.id, step.at_risk)
        if line.at_risk and not step.at_risk:
            await clear_alerts(uow.session, line.id)
        if step.alert:
            await record_alert(uow.session, provider, fy, line, outturn, margin)
            contract = await contract_for(uow.session, provider, fy)
            uow.emit(
                "contract.budget.at_risk",
                subject=str(line.id),
                payload={
                    "provider_ods": provider,
                    "financial_year": fy,
                    "budget_line_id": line.id,
                    "line_name": line.line_name,
                    "budget": outturn.budget,
                    "forecast_outturn": outturn.forecast_outturn,
                    "variance": outturn.variance,
                    "margin_pct": margin,
                    "contract_lead_email": contract.contract_lead_email if contract else None,
                },
            )
