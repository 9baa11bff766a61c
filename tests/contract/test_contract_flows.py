"""Contract flows across services over the embedded stack: a CDF approval made in cdf-service becomes
a commitment on the provider's CDF line; a drug return with one unauthorised line raises one
validation query that notification-service mails to the trust; a forecast past the margin raises one
at-risk alert that is mailed to finance."""

from __future__ import annotations

from decimal import Decimal

from contract_fixtures import (
    DRUG_A,
    add_line,
    commissioner,
    create_contract,
    forecast_event,
    new_nhs_number,
    new_provider,
    send,
    settled_events,
)
from samples import APPLICATION, prepare_cdf

from casework.clock import today
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import RunningService, TestStack, eventually

PATIENT = "999 000 0026"  # not the platform flow's patient: CDF refuses a duplicate application


async def rrv_contract(stack: TestStack, contract: RunningService) -> dict:
    """RRV's 2026/27 contract with a CDF line (RRV is the trust the CDF samples are set up for)."""
    listed = await contract.client.get(
        "/api/v1/contracts", params={"provider": "RRV", "fy": "2026/27"}, headers=commissioner(stack)
    )
    found = listed.json()["items"]
    contract_id = found[0]["id"] if found else (await create_contract(contract.client, stack, "RRV"))["id"]
    lines = await contract.client.get(f"/api/v1/contracts/{contract_id}/budget-lines", headers=commissioner(stack))
    cdf = [x for x in lines.json()["items"] if x["kind"] == "cdf"]
    line = cdf[0] if cdf else await add_line(contract.client, stack, contract_id, "cdf", "2400000", category="cdf")
    return {"contract_id": contract_id, "cdf_line": line["id"]}


def mails_about(stack: TestStack, text: str) -> list:
    return [m for m in read_messages(stack.layout.mail) if text in m["Subject"]]


async def test_approval_commitment_and_a_return_with_one_unauthorised_line_is_mailed(stack: TestStack) -> None:
    async with stack.service("cdf") as cdf, stack.service("contract") as contract, stack.service("notification"):
        rrv = await rrv_contract(stack, contract)
        await prepare_cdf(cdf.client, stack)
        applied = await cdf.client.post(
            "/api/v1/cdf/applications",
            json=APPLICATION | {"nhs_number": PATIENT},
            headers=stack.auth("RRV", "clinician"),
        )
        assert applied.status_code == 201, applied.text
        reference = applied.json()["reference"]

        async def committed() -> list:
            response = await contract.client.get(
                "/api/v1/commitments", params={"source_reference": reference}, headers=commissioner(stack)
            )
            return response.json()

        [commitment] = await eventually(committed)
        assert commitment["budget_line_id"] == rrv["cdf_line"] and commitment["status"] == "committed"
        drug = commitment["dmd_id"]

        # on the approval's day (the authority runs from the decision: a dose given before it is challenged)
        given = today()
        period = f"{given:%Y-%m}"
        other_patient = new_nhs_number()
        lines = [
            {  # given under the approval just made
                "nhs_number": PATIENT,
                "dmd_id": drug,
                "indication": "NSCLC first line",
                "administered_on": str(given),
                "quantity": "1",
                "cost": "5260.00",
                "approval_reference": reference,
            },
            {  # no approval for this patient
                "nhs_number": other_patient,
                "dmd_id": drug,
                "indication": "NSCLC first line",
                "administered_on": str(given),
                "quantity": "1",
                "cost": "5260.00",
            },
        ]
        sent = await contract.client.post(
            "/api/v1/drug-returns",
            json={"provider_ods": "RRV", "period": period, "submission_id": f"RRV-{period}-A", "lines": lines},
            headers=stack.auth("RRV", "trust_pharmacist"),
        )
        assert sent.status_code == 201, sent.text
        out = sent.json()
        assert (out["authorised_value"], out["challenged_value"]) == ("5260.00", "5260.00")
        query_reference = out["query_reference"]
        assert query_reference == f"VQ-RRV-{period}-001"

        raised = await settled_events(stack, contract, "contract.validation_query.raised", reference=query_reference)
        assert [(e["data"]["lines_count"], e["data"]["challenged_value"]) for e in raised] == [(1, "5260.00")]

        mails = await eventually(lambda: len(found := mails_about(stack, query_reference)) >= 2 and found)
        assert sorted(m["To"] for m in mails) == ["rrv.contracts@nhs.net", "rrv.pharmacy@nhs.net"]
        body = mails[0].get_body(("plain",)).get_content()
        assert "5,260.00" in body and period in body and "/validation-queries/" in body
        for mail in mails:
            text = mail.as_string()
            assert PATIENT.replace(" ", "") not in text and other_patient not in text


async def test_forecast_past_the_margin_is_alerted_once_and_mailed(stack: TestStack) -> None:
    async with stack.service("contract") as contract, stack.service("notification"):
        provider = new_provider()
        cid = (await create_contract(contract.client, stack, provider))["id"]
        line = await add_line(contract.client, stack, cid, "cdf", "120000.00", category="cdf", line_name="CDF drugs")

        async def outturn(expected: int) -> bool:
            response = await contract.client.get(
                "/api/v1/forecast-outturn", params={"provider": provider, "fy": "2026/27"}, headers=commissioner(stack)
            )
            return Decimal(response.json()["lines"][0]["forecast_outturn"]) == Decimal(expected)

        # 120,000 (on budget), then 132,000 and 138,000 (past 5%), each applied before the next is sent: events
        # fetched together are evaluated once, at their transaction's end (the alert would name 138,000)
        for monthly in ("10000", "11000", "11500"):
            await send(stack, forecast_event(provider, "CDF-0042", DRUG_A, [monthly] * 12))
            await eventually(lambda monthly=monthly: outturn(int(monthly) * 12))
        alerts = await settled_events(stack, contract, "contract.budget.at_risk", budget_line_id=line["id"])
        assert [a["data"]["forecast_outturn"] for a in alerts] == ["132000.00"]
        [mail] = await eventually(lambda: mails_about(stack, f"Budget at risk: CDF drugs at {provider}"))
        assert mail["To"] == "england.specialised-finance@nhs.net"
        assert "132,000.00" in mail.get_body(("plain",)).get_content()
