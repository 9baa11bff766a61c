"""The what-if at decision time over the embedded stack: before a CDF approval, contract-service's
what-if says it would take the trust's CDF line beyond the at-risk margin; the approval is sent with
that figure (kept on the application), and recording it raises the at-risk alert the what-if
predicted, once cdf-service has forecast the approval. The what-if itself changes nothing stored."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contract_fixtures import (
    add_line,
    commissioner,
    create_contract,
    new_nhs_number,
    new_provider,
    settled_events,
    stored_for,
)
from samples import confirmed_clinician, first_open_course, load_national_list

from casework.financial_year import financial_year_of
from cdf_service.synthetic.national import application_for
from embedded_stack.testing import TestStack, eventually

FAST = {"forecast_interval_s": 0.2, "sact_poll_interval_s": 0.2}
GMC = "7000143"


async def test_the_what_if_predicts_the_alert_the_approval_raises(stack: TestStack) -> None:
    trust, today = new_provider(), date.today()
    fy = financial_year_of(today).financial_year
    async with stack.service("cdf", **FAST) as cdf, stack.service("contract") as contract:
        contract_id = (await create_contract(contract.client, stack, trust, fy))["id"]
        budget = Decimal("10000.00")  # well below one course of the entry, so its approval crosses the margin
        line = await add_line(
            contract.client, stack, contract_id, "cdf", str(budget), category="cdf", line_name="CDF drugs"
        )
        await load_national_list(cdf.client, stack)
        clinician = {"trust_ods": trust, "gmc_number": GMC, "name": "Dr W Whatif", "email": "w.whatif@nhs.net"}
        await confirmed_clinician(cdf.client, stack, clinician)
        entry, course = first_open_course(trust, new_nhs_number(), GMC, regimen_start=today, planned_start=today)
        application = application_for(course, entry)
        listed = await cdf.client.get(f"/api/v1/cdf/list/{entry.entry_id}", headers=stack.auth(trust, "clinician"))
        expected_cost = listed.json()["expected_cost"]

        # before applying: the what-if, as the console asks it with the clinician's own token
        before = await stored_for(contract, trust)
        asked = await contract.client.get(
            "/api/v1/forecast-outturn/what-if",
            params={
                "source": "cdf",
                "provider": trust,
                "amount": expected_cost,
                "dmd_id": listed.json()["dmd_id"],
                "on": application["planned_start"],
            },
            headers=stack.auth(trust, "clinician"),
        )
        assert asked.status_code == 200, asked.text
        shown = asked.json()
        assert shown["budget_line_id"] == line["id"] and shown["forecast_outturn_before"] == "0.00"
        assert Decimal(shown["forecast_outturn_after"]) == Decimal(expected_cost)
        assert (shown["crosses_margin"], shown["raises_alert"]) == (True, True)
        assert "crosses the at-risk margin" in shown["summary"]
        assert await stored_for(contract, trust) == before  # the what-if changed nothing stored

        made = await cdf.client.post(
            "/api/v1/cdf/applications",
            json={**application, "budget_impact": shown},
            headers=stack.auth(trust, "clinician"),
        )
        assert made.status_code == 201 and made.json()["status"] == "approved", made.text
        assert made.json()["budget_impact"] == shown  # kept as shown

        # the approval becomes a commitment, cdf-service forecasts it, and the line crosses: one alert
        alerts = await eventually(
            lambda: settled_events(stack, contract, "contract.budget.at_risk", budget_line_id=line["id"]),
            within=60,
        )
        [alert] = alerts
        assert Decimal(alert["data"]["forecast_outturn"]) > budget * Decimal("1.05")
        lines = await contract.client.get(
            "/api/v1/forecast-outturn", params={"provider": trust, "fy": fy}, headers=commissioner(stack)
        )
        [held] = lines.json()["lines"]
        assert held["at_risk"] is True and held["committed"] == expected_cost
        kept = await contract.client.get(
            "/api/v1/forecast-outturn/alerts", params={"provider": trust, "fy": fy}, headers=commissioner(stack)
        )
        assert [a["budget_line_id"] for a in kept.json()["items"]] == [line["id"]]
