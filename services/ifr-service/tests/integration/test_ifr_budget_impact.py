"""The budget what-if shown before a decision is kept with the decision and shown on the case; one
that is not this decision's (another amount, source or trust) is a 422 naming the field."""

from datetime import UTC, date, datetime
from typing import Any

from ifr_http import MEMBERS, REASONS, Ifr
from sqlalchemy import select

from casework.financial_year import financial_year_of
from embedded_stack.testing import TestStack
from ifr_service.db.models import Decision


def shown(amount: str = "15000.00", **changes: Any) -> dict[str, Any]:
    """A what-if as contract-service answers it (the sample application's total cost is £15,000)."""
    return {
        "provider_ods": "RRV",
        "financial_year": financial_year_of(date.today()).financial_year,  # the decision's year
        "source": "ifr",
        "dmd_id": "3762811000001103",
        "amount": amount,
        "budget_line_id": "6f1c0a4e-8d65-4f0e-9a43-6a3f0d2e7b11",
        "line_name": "High-cost drugs",
        "budget": "100000.00",
        "forecast_outturn_before": "95000.00",
        "forecast_outturn_after": "110000.00",
        "variance_before": "-5000.00",
        "variance_after": "10000.00",
        "margin_pct": "5",
        "at_risk_before": False,
        "at_risk_after": True,
        "crosses_margin": True,
        "raises_alert": True,
        "summary": "Adding £15,000.00 to High-cost drugs ... This crosses the at-risk margin of 5%.",
        "as_of": datetime.now(UTC).isoformat(),
        **changes,
    }


async def test_the_figure_shown_is_kept_with_the_decision(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, _ = await ifr.listed()
        body = {"outcome": "approved", "reasons": REASONS, "present": [m["member_id"] for m in MEMBERS]}
        for wrong, field in [
            (shown("14000.00"), "budget_impact.amount"),
            (shown(source="cdf"), "budget_impact.source"),
            (shown(provider_ods="RJ1"), "budget_impact.provider_ods"),
            (shown(financial_year="2019/20"), "budget_impact.financial_year"),
            (shown(crosses_margin="perhaps"), "budget_impact.crosses_margin"),
            (shown(extra="x"), "budget_impact.extra"),
        ]:
            refused = await ifr.act(case, "decide", {**body, "budget_impact": wrong}, expect=422)
            assert refused["errors"][0]["field"] == field, refused
        assert (await ifr.get(case)).json()["budget_impact"] is None  # nothing recorded

        decided = await ifr.act(case, "decide", {**body, "budget_impact": shown()})
        assert decided["budget_impact"]["forecast_outturn_after"] == "110000.00"
        assert decided["budget_impact"]["crosses_margin"] is True
        again = (await ifr.get(case)).json()["budget_impact"]
        assert again == decided["budget_impact"] and again["amount"] == "15000.00"
        async with svc.runtime.sessions() as session:
            kept = await session.scalar(select(Decision.budget_impact).where(Decision.request_id == case["id"]))
        assert kept is not None and kept["summary"].startswith("Adding £15,000.00")


async def test_a_chairs_action_and_a_decline_keep_their_figures(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, _ = await ifr.by_chairs_action(approved_cost="9000.00", budget_impact=shown("9000.00"))
        assert case["budget_impact"]["amount"] == "9000.00"
        # a declined decision commits nothing: the figure shown for the amount asked is kept as shown
        declined, _ = await ifr.decided("declined", budget_impact=shown())
        assert declined["budget_impact"]["amount"] == "15000.00"
