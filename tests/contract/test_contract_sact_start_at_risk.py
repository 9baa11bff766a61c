"""A SACT start posted to cdf-service moves the forecast outturn in contract-service and, past the
margin, raises one at-risk alert that notification-service mails to finance (over the embedded stack).

Before the start, cdf-service forecasts the approval as pipeline (a share of approvals start); the
first administration in SACT makes it an active treatment, so the forecast rises by more than the
5% margin over a budget set at the pipeline forecast.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contract_fixtures import add_line, commissioner, create_contract, new_nhs_number, new_provider, settled_events
from samples import approved_course_starting_today, sact_csv

from casework.financial_year import financial_year_of
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack, eventually

FAST = {"forecast_interval_s": 0.2, "sact_poll_interval_s": 0.2}


async def test_sact_start_moves_the_outturn_and_alerts_once(stack: TestStack) -> None:
    trust = new_provider()
    fy = financial_year_of(date.today()).financial_year
    async with (
        stack.service("cdf", **FAST) as cdf,
        stack.service("contract") as contract,
        stack.service("notification"),
    ):
        contract_id = (await create_contract(contract.client, stack, trust, fy))["id"]
        course = await approved_course_starting_today(cdf.client, stack, trust, new_nhs_number())

        async def outturn() -> dict:
            response = await contract.client.get(
                "/api/v1/forecast-outturn", params={"provider": trust, "fy": fy}, headers=commissioner(stack)
            )
            assert response.status_code == 200, response.text
            return response.json()

        async def pipeline_forecast() -> Decimal:
            return Decimal((await outturn())["unallocated"]["cdf_forecast_outturn"])

        before = await eventually(pipeline_forecast)  # the approval's forecast, with no line to hold it yet
        line = await add_line(
            contract.client, stack, contract_id, "cdf", str(before), category="cdf", line_name="CDF drugs"
        )
        [held] = (await outturn())["lines"]
        assert (Decimal(held["forecast_outturn"]), held["at_risk"]) == (before, False)

        submitted = await cdf.client.post(
            "/api/v1/sact/submissions",
            params={"provider_ods": trust, "period": date.today().strftime("%Y-%m"), "submission_id": "start-1"},
            content=sact_csv(course),
            headers={**stack.auth(trust, "provider_system"), "Content-Type": "text/csv"},
        )
        assert submitted.status_code == 202, submitted.text

        async def moved() -> dict | None:
            [current] = (await outturn())["lines"]
            return current if Decimal(current["forecast_outturn"]) != before else None

        after = await eventually(moved)
        assert Decimal(after["forecast_outturn"]) > before * Decimal("1.05") and after["at_risk"] is True

        alerts = await settled_events(stack, contract, "contract.budget.at_risk", budget_line_id=line["id"])
        assert [a["data"]["forecast_outturn"] for a in alerts] == [after["forecast_outturn"]]

        def at_risk_mails() -> list:
            return [
                m
                for m in read_messages(stack.layout.mail)
                if f"Budget at risk: {line['line_name']} at {trust}" in m["Subject"]
            ]

        [mail] = await eventually(at_risk_mails)
        assert mail["To"] == "england.specialised-finance@nhs.net"
