"""The budget what-if shown before applying is kept with the application and shown on it; one that is
not this approval's (another amount, source, trust or year) is a 422 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cdf_helpers import PLANNED, application_body, confirmed_clinician, entry, load_seed_list, next_patient_index

from casework.financial_year import financial_year_of
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.testing import TestStack

pytestmark = pytest.mark.integration
TRUST = "RGT"
PEMBRO = "CDF-PEMBRO-NSCLC-1L"


def shown(amount: str, **changes: Any) -> dict[str, Any]:
    return {
        "provider_ods": TRUST,
        "financial_year": financial_year_of(PLANNED).financial_year,
        "source": "cdf",
        "amount": amount,
        "line_name": "Cancer Drugs Fund",
        "budget": "100000.00",
        "forecast_outturn_before": "90000.00",
        "forecast_outturn_after": "120000.00",
        "variance_before": "-10000.00",
        "variance_after": "20000.00",
        "margin_pct": "5",
        "at_risk_after": True,
        "crosses_margin": True,
        "raises_alert": True,
        "summary": "This crosses the at-risk margin of 5%: the line would be at risk.",
        "as_of": datetime.now(UTC).isoformat(),
        **changes,
    }


async def test_the_figure_shown_is_kept_with_the_application(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        cost = str(listed["expected_cost"])
        headers = stack.auth(TRUST, "clinician")
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc)
        for wrong, field in [
            (shown("1.00"), "budget_impact.amount"),
            (shown(cost, source="ifr"), "budget_impact.source"),
            (shown(cost, provider_ods="RJ1"), "budget_impact.provider_ods"),
            (shown(cost, financial_year="2019/20"), "budget_impact.financial_year"),
            (shown("lots"), "budget_impact.amount"),
        ]:
            refused = await svc.client.post(
                "/api/v1/cdf/applications", json={**body, "budget_impact": wrong}, headers=headers
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == field, refused.json()

        created = await svc.client.post(
            "/api/v1/cdf/applications", json={**body, "budget_impact": shown(cost)}, headers=headers
        )
        assert created.status_code == 201, created.text
        app = created.json()
        assert app["status"] == "approved" and app["budget_impact"]["amount"] == cost
        read = await svc.client.get(f"/api/v1/cdf/applications/{app['id']}", headers=stack.auth("X24", "cdf_manager"))
        assert read.json()["budget_impact"] == app["budget_impact"]
        assert read.json()["budget_impact"]["crosses_margin"] is True
