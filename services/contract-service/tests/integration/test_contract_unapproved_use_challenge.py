"""The CDF's challenge of an unapproved use becomes a validation query here: the patient's funded
return lines for the drug from its first administration are withheld on a query of their own (one
per detection, however often the event comes), which the trust and commissioner settle as any other;
a later return's unauthorised spend still goes on the month's own query."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from contract_fixtures import (
    DRUG_A,
    DRUG_B,
    add_line,
    cdf_approved,
    cdf_ref,
    commissioner,
    create_contract,
    new_nhs_number,
    new_provider,
    ref_of,
    send,
    settled_events,
)

from embedded_stack.testing import RunningService, TestStack, envelope_for, eventually


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


def line(nhs: str, drug: str, day: int, cost: str) -> dict[str, Any]:
    return {
        "nhs_number": nhs,
        "dmd_id": drug,
        "indication": "metastatic disease",
        "administered_on": f"2026-05-{day:02d}",
        "quantity": "1",
        "cost": cost,
    }


def challenged(provider: str, patient_ref: str, detection_id: str) -> Any:
    return envelope_for(
        "cdf.unapproved_use.challenged",
        detection_id,
        {
            "detection_id": detection_id,
            "provider_ods": provider,
            "patient_ref": patient_ref,
            "dmd_id": DRUG_A,
            "drug_name": "Examplimab",
            "first_administration": "2026-05-08",
            "submission_id": str(uuid.uuid4()),
            "status": "challenged",
            "reason": "the approval quoted is for another indication",
            "cycles": 2,
            "decided_by": "cdf-manager@nhs.net",
        },
    )


async def test_a_challenged_unapproved_use_withholds_its_lines_on_its_own_query(
    stack: TestStack, contract: RunningService
) -> None:
    provider, n1 = new_provider(), new_nhs_number()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    await add_line(contract.client, stack, cid, "cdf", "100000", category="cdf")
    approval = cdf_ref(provider, ref_of(contract, n1), DRUG_A)
    await send(stack, cdf_approved(approval, "30000.00"))

    async def known() -> bool:
        got = await contract.client.get(
            "/api/v1/commitments", params={"provider": provider}, headers=commissioner(stack)
        )
        return len(got.json()) == 1

    await eventually(known)
    lines = [
        line(n1, DRUG_A, 5, "100.00"),  # funded, before the first administration SACT showed: stays funded
        line(n1, DRUG_A, 8, "200.00"),  # funded, then challenged
        line(n1, DRUG_A, 22, "300.00"),  # funded, then challenged
        line(n1, DRUG_B, 22, "40.00"),  # another drug: on the month's own query (no approval)
    ]
    body = {"provider_ods": provider, "period": "2026-05", "submission_id": "RET-1", "lines": lines}
    trust = stack.auth(provider, "trust_finance")
    stored = await contract.client.post(
        "/api/v1/drug-returns", json=body, headers=stack.auth(provider, "provider_system")
    )
    assert stored.status_code == 201, stored.text
    assert (stored.json()["authorised_value"], stored.json()["challenged_value"]) == ("600.00", "40.00")

    detection = str(uuid.uuid4())
    await send(stack, challenged(provider, ref_of(contract, n1), detection))

    async def cdf_query() -> dict[str, Any] | None:
        got = await contract.client.get("/api/v1/validation-queries", params={"provider": provider}, headers=trust)
        found = [q for q in got.json()["items"] if q["source"] == "cdf_unapproved_use"]
        return found[0] if found else None

    query = await eventually(cdf_query)
    assert query["detection_id"] == detection and query["status"] == "raised"
    assert (query["lines_count"], query["challenged_value"], query["period"]) == (2, "500.00", "2026-05")
    assert query["subject"] == "Unapproved CDF use of Examplimab, first given 08 May 2026 (2 cycles in SACT)"
    detail = (await contract.client.get(f"/api/v1/validation-queries/{query['id']}", headers=trust)).json()
    assert [(x["row_number"], x["funding"]) for x in detail["lines"]] == [(2, "challenged"), (3, "challenged")]
    month_query = [
        q
        for q in (
            await contract.client.get("/api/v1/validation-queries", params={"provider": provider}, headers=trust)
        ).json()["items"]
        if q["source"] == "drug_return"
    ]
    assert [(q["lines_count"], q["challenged_value"]) for q in month_query] == [(1, "40.00")]
    returned = (await contract.client.get(f"/api/v1/drug-returns/{stored.json()['id']}", headers=trust)).json()
    assert (returned["authorised_value"], returned["challenged_value"]) == ("100.00", "540.00")
    raised = await settled_events(stack, contract, "contract.validation_query.raised", provider_ods=provider)
    assert sorted((e["data"]["detection_id"] or "-", e["data"]["challenged_value"]) for e in raised) == sorted(
        [("-", "40.00"), (detection, "500.00")]
    )

    # the same challenge delivered again (a new envelope): still one query, nothing withheld twice
    await send(stack, challenged(provider, ref_of(contract, n1), detection))
    await settled_events(stack, contract, "contract.validation_query.raised", provider_ods=provider)
    again = await contract.client.get("/api/v1/validation-queries", params={"provider": provider}, headers=trust)
    assert sorted(q["source"] for q in again.json()["items"]) == ["cdf_unapproved_use", "drug_return"]

    # settled as any query: disputed, then withdrawn -> the withheld value is funded again
    read = await contract.client.get(f"/api/v1/validation-queries/{query['id']}", headers=trust)
    disputed = await contract.client.post(
        f"/api/v1/validation-queries/{query['id']}/response",
        json={"action": "dispute", "evidence_text": "Approved under CDF-0042 for this indication"},
        headers={**trust, "If-Match": read.headers["ETag"]},
    )
    assert disputed.status_code == 200, disputed.text
    withdrawn = await contract.client.post(
        f"/api/v1/validation-queries/{query['id']}/resolution",
        json={"action": "withdraw", "note": "approval confirmed"},
        headers={**commissioner(stack), "If-Match": disputed.headers["ETag"]},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["funded_adjustment"]) == ("withdrawn", "500.00")
    settled = (await contract.client.get(f"/api/v1/validation-queries/{query['id']}", headers=trust)).json()
    assert {x["funding"] for x in settled["lines"]} == {"funded_on_resolution"}

    # another trust never sees it
    other = await contract.client.get(
        f"/api/v1/validation-queries/{query['id']}", headers=stack.auth(new_provider(), "trust_finance")
    )
    assert other.status_code == 404


async def test_a_challenge_before_any_return_still_records_the_query(
    stack: TestStack, contract: RunningService
) -> None:
    provider, detection = new_provider(), str(uuid.uuid4())
    await create_contract(contract.client, stack, provider)
    await send(stack, challenged(provider, ref_of(contract, new_nhs_number()), detection))

    async def raised() -> list[dict[str, Any]] | None:
        got = await contract.client.get(
            "/api/v1/validation-queries", params={"provider": provider}, headers=commissioner(stack)
        )
        return got.json()["items"] or None

    [query] = await eventually(raised)
    assert (query["source"], query["detection_id"], query["lines_count"], query["challenged_value"]) == (
        "cdf_unapproved_use",
        detection,
        0,
        "0.00",
    )
