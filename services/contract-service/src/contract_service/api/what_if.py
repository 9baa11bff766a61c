"""The what-if at decision time: a provider's budget line's forecast outturn if a commitment is added.

Asked by the IFR decision and CDF application pages before the decision is recorded; the answer is the
`casework.budget_impact.BudgetImpact` the decision then keeps. It reads one snapshot and stores nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Depends, Query

from casework import clock
from casework.auth import Principal, require_roles
from casework.budget_impact import BudgetImpact
from casework.financial_year import financial_year_of
from casework.identifiers import OdsCode, SnomedId
from casework.problems import field_problem
from contract_service.api.access import WHAT_IF_ROLES
from contract_service.api.forecast import ANOTHER_PROVIDER, fy_param, provider_param
from contract_service.db.outturn import LineFigures, commitment_what_if
from contract_service.domain.budget_lines import FundingSource
from contract_service.domain.contracts import pence
from contract_service.domain.outturn import WhatIf, what_if_summary
from contract_service.runtime import Uow

router = APIRouter(tags=["forecast outturn"])


def year_of(fy: str | None, on: date | None) -> str:
    """The year whose budget carries the commitment: `fy`, else the year of `on` (a CDF approval's
    planned start, an IFR decision's day), else this year."""
    if fy is not None:
        fy = fy_param(fy)
        if on is not None and financial_year_of(on).financial_year != fy:
            raise field_problem("on", f"{on.isoformat()} is not in the financial year {fy}")
        return fy
    return financial_year_of(on or clock.today()).financial_year


@router.get("/forecast-outturn/what-if", response_model=BudgetImpact, responses=ANOTHER_PROVIDER)
async def forecast_what_if(
    uow: Uow,
    source: Literal["cdf", "ifr"] = Query(description="what the commitment comes from: a CDF approval or an IFR"),
    amount: Decimal = Query(ge=0, max_digits=12, decimal_places=2, description="the commitment, in pounds"),
    provider: OdsCode | None = None,
    dmd_id: SnomedId | None = Query(None, description="the drug (dm+d); without it, the category line"),
    fy: str | None = Query(None, examples=["2026/27"]),
    on: date | None = Query(None, description="the day that decides the year (planned start, decision day)"),
    principal: Principal = Depends(require_roles(*WHAT_IF_ROLES)),
) -> BudgetImpact:
    """Forecast outturn if this commitment is added: the line it would fall on (chosen as an approval's
    commitment is), its outturn before and after (the commitment added in full), variance, and whether
    it crosses the at-risk margin by the rule the alerts use. Nothing is stored."""
    trust, year, amount = provider_param(principal, provider), year_of(fy, on), pence(amount)
    margin: Decimal = uow.settings.budget_at_risk_margin_pct
    line, result = await commitment_what_if(uow.session, trust, year, FundingSource(source), dmd_id, amount, margin)
    asked = BudgetImpact(
        provider_ods=trust,
        financial_year=year,
        source=source,
        dmd_id=dmd_id,
        amount=amount,
        margin_pct=margin,
        summary=what_if_summary(line.line.line_name if line else None, result, amount),
        as_of=datetime.now(UTC),
    )
    return _with_line(asked, line, result)


def _with_line(asked: BudgetImpact, line: LineFigures | None, result: WhatIf | None) -> BudgetImpact:
    """The answer with the line's figures before and after, where a line fits the commitment."""
    if line is None or result is None:
        return asked
    return asked.model_copy(
        update={
            "budget_line_id": line.line.id,
            "line_name": line.line.line_name,
            "budget": result.budget,
            "forecast_outturn_before": result.outturn_before,
            "forecast_outturn_after": result.outturn_after,
            "variance_before": result.variance_before,
            "variance_after": result.variance_after,
            "at_risk_before": result.at_risk_before,
            "at_risk_after": result.at_risk_after,
            "crosses_margin": result.crosses_margin,
            "raises_alert": result.raises_alert,
        }
    )
