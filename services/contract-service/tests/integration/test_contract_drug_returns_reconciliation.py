"""Monthly drug returns over HTTP: row-by-row validation, idempotent submissions, reconciliation of
a seeded month against approvals known from events, grouped validation queries, responses,
settlement, the challenged-value report and the exports."""

from __future__ import annotations

import csv
import io
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
    ifr_decision,
    new_nhs_number,
    new_provider,
    read_to_end,
    ref_of,
    send,
    settled_events,
)
from sqlalchemy import select

from embedded_stack.testing import RunningService, TestStack, envelope_for, eventually


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


def line(nhs: str, drug: str, day: int, cost: str, ref: str | None = None, period: str = "2026-05") -> dict[str, Any]:
    return {
        "nhs_number": nhs,
        "dmd_id": drug,
        "indication": "metastatic disease",
        "administered_on": f"{period}-{day:02d}",
        "quantity": "1",
        "cost": cost,
        "approval_reference": ref,
    }


async def seed_month(stack: TestStack, contract: RunningService) -> dict[str, Any]:
    """A provider with CDF and IFR approvals arriving as events, and the NHS numbers of its patients."""
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    cdf_line = await add_line(contract.client, stack, cid, "cdf", "100000", category="cdf")
    ifr_line = await add_line(contract.client, stack, cid, "high_cost_drug", "50000", category="ifr")
    n = [new_nhs_number() for _ in range(5)]
    approved_1 = cdf_ref(provider, ref_of(contract, n[1]), DRUG_A)
    approved_2 = cdf_ref(provider, ref_of(contract, n[2]), DRUG_A)
    ifr_3 = ifr_decision(provider, ref_of(contract, n[3]), "approved", "9000.00", "X72.1", decided="2026-05-02")
    stopped_2 = envelope_for(
        "cdf.treatment.stopped",
        approved_2["application_id"],
        approved_2
        | {
            "final_treatment_date": "2026-05-10",
            "stop_reason": "toxicity",
            "cycles_given": 2,
            "cost_to_date": "600.00",
        },
    )
    await send(stack, cdf_approved(approved_1, "30000.00"), cdf_approved(approved_2, "30000.00"), ifr_3, stopped_2)

    async def known() -> bool:
        rows = (
            await contract.client.get("/api/v1/commitments", params={"provider": provider}, headers=commissioner(stack))
        ).json()
        return len(rows) == 3 and any(r["status"] == "stopped" for r in rows)

    await eventually(known)
    return {
        "provider": provider,
        "n": n,
        "ifr_ref": ifr_3.data["reference"],
        "cdf_line": cdf_line["id"],
        "ifr_line": ifr_line["id"],
    }


async def submit(contract: RunningService, stack: TestStack, body: dict, **headers: str) -> Any:
    return await contract.client.post(
        "/api/v1/drug-returns", json=body, headers={**stack.auth(body["provider_ods"], "provider_system"), **headers}
    )


async def test_seeded_month_gives_exactly_the_expected_query(stack: TestStack, contract: RunningService) -> None:
    seed = await seed_month(stack, contract)
    provider, n = seed["provider"], seed["n"]
    lines = [
        line(n[1], DRUG_A, 3, "100.00"),  # 1 CDF approval fits
        line(n[1], DRUG_B, 5, "250.00"),  # 2 approval is for another drug -> challenged
        line(n[2], DRUG_A, 9, "300.00"),  # 3 before the treatment stopped
        line(n[2], DRUG_A, 20, "300.00"),  # 4 after it stopped -> challenged
        line(n[3], DRUG_B, 2, "400.00", seed["ifr_ref"]),  # 5 IFR approval quoted
        line(n[3], DRUG_B, 1, "400.00", seed["ifr_ref"]),  # 6 before the IFR decision -> challenged
        line(n[4], DRUG_A, 7, "50.00"),  # 7 nobody approved it -> challenged
        line("9990000019", DRUG_A, 7, "10.00"),  # 8 NHS number fails Modulus 11 -> rejected
        line(n[4], "3762011000001108", 7, "-1"),  # 9 bad dm+d and negative cost -> rejected
    ]
    body = {"provider_ods": provider, "period": "2026-05", "submission_id": "RET-1", "lines": lines}
    first = await submit(contract, stack, body)
    assert first.status_code == 201, first.text
    out = first.json()
    assert (out["rows_total"], out["rows_accepted"], out["rows_rejected"]) == (9, 7, 2)
    assert [(r["row"], r["field"]) for r in out["report"]] == [(8, "nhs_number"), (9, "dmd_id"), (9, "cost")]
    assert (out["submitted_value"], out["authorised_value"], out["challenged_value"]) == (
        "1800.00",
        "800.00",
        "1000.00",
    )
    assert out["query_reference"] == f"VQ-{provider}-2026-05-001"

    listed = await contract.client.get(
        "/api/v1/validation-queries", params={"provider": provider}, headers=commissioner(stack)
    )
    [query] = listed.json()["items"]
    assert (query["lines_count"], query["challenged_value"], query["status"]) == (4, "1000.00", "raised")
    detail = await contract.client.get(f"/api/v1/validation-queries/{query['id']}", headers=commissioner(stack))
    assert [(x["row_number"], x["nhs_number"]) for x in detail.json()["lines"]] == [
        (2, n[1]),
        (4, n[2]),
        (6, n[3]),
        (7, n[4]),
    ]
    assert "before approval" in detail.json()["lines"][2]["reason"]

    raised = await settled_events(stack, contract, "contract.validation_query.raised", provider_ods=provider)
    assert [(e["data"]["lines_count"], e["data"]["challenged_value"], e["data"]["period"]) for e in raised] == [
        (4, "1000.00", "2026-05")
    ]
    topic_text = b"".join(r.value for r in await read_to_end(stack.bootstrap_servers, "contract.events")).decode()
    assert not any(number in topic_text for number in n)  # NHS numbers never leave this service

    # the same submission again: the first result, nothing twice
    again = await submit(contract, stack, body)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == out["id"]
    changed = await submit(contract, stack, body | {"lines": lines[:2]})
    assert changed.status_code == 409
    nothing_valid = await submit(contract, stack, body | {"submission_id": "RET-BAD", "lines": lines[7:]})
    assert nothing_valid.status_code == 422
    assert {(e["row"], e["field"]) for e in nothing_valid.json()["errors"]} == {
        (1, "nhs_number"),
        (2, "dmd_id"),
        (2, "cost"),
    }

    # a supplementary CSV for the same month adds its unauthorised line to the open query
    text = "nhs_number,dmd_id,indication,date,quantity,cost\n" + f"{n[4]},{DRUG_A},x,2026-05-28,1,75.50\n"
    csv_sent = await contract.client.post(
        "/api/v1/drug-returns",
        params={"provider_ods": provider, "period": "2026-05", "submission_id": "RET-2"},
        content=text,
        headers={**stack.auth(provider, "trust_pharmacist"), "Content-Type": "text/csv"},
    )
    assert csv_sent.status_code == 201, csv_sent.text
    assert csv_sent.json()["query_id"] == query["id"]
    raised = await settled_events(stack, contract, "contract.validation_query.raised", provider_ods=provider)
    assert [(e["data"]["lines_count"], e["data"]["challenged_value"], e["data"]["revision"]) for e in raised] == [
        (4, "1000.00", 1),
        (5, "1075.50", 2),
    ]
    returns = await contract.client.get(
        "/api/v1/drug-returns", params={"provider": provider}, headers=commissioner(stack)
    )
    assert sorted(r["submission_id"] for r in returns.json()["items"]) == ["RET-1", "RET-2"]

    # the raw NHS number is stored here, with its patient_ref, and its reads are audited
    lines_read = await contract.client.get(f"/api/v1/drug-returns/{out['id']}/lines", headers=commissioner(stack))
    assert lines_read.json()["items"][0]["patient_ref"] == ref_of(contract, n[1])
    audit = contract.runtime.tables.audit
    async with contract.runtime.sessions() as session:
        actions = set(
            await session.execute(
                select(audit.c.action, audit.c.entity_type).where(audit.c.entity_id.in_([out["id"], query["id"]]))
            )
        )
    assert {("create", "drug_return"), ("replay", "drug_return"), ("read", "drug_return_lines")} <= actions
    assert ("read", "validation_query") in actions


async def test_response_settlement_and_challenged_value(stack: TestStack, contract: RunningService) -> None:
    seed = await seed_month(stack, contract)
    provider, n = seed["provider"], seed["n"]
    trust = stack.auth(provider, "trust_finance")
    queries = {}
    for period, cost in (("2026-05", "500.00"), ("2026-06", "200.00")):
        body = {
            "provider_ods": provider,
            "period": period,
            "submission_id": f"R-{period}",
            "lines": [line(n[4], DRUG_A, 3, cost, period=period), line(n[1], DRUG_A, 4, "100.00", period=period)],
        }
        sent = await submit(contract, stack, body)
        assert sent.status_code == 201, sent.text
        queries[period] = sent.json()["query_id"]

    async def read(query_id: str) -> Any:
        return await contract.client.get(f"/api/v1/validation-queries/{query_id}", headers=trust)

    may = await read(queries["2026-05"])
    no_evidence = await contract.client.post(
        f"/api/v1/validation-queries/{queries['2026-05']}/response",
        json={"action": "dispute"},
        headers={**trust, "If-Match": may.headers["ETag"]},
    )
    assert no_evidence.status_code == 422
    disputed = await contract.client.post(
        f"/api/v1/validation-queries/{queries['2026-05']}/response",
        json={"action": "dispute", "evidence_text": "Blueteq form approved", "evidence_reference": "BTQ-12345"},
        headers={**trust, "If-Match": may.headers["ETag"]},
    )
    assert disputed.status_code == 200 and disputed.json()["status"] == "disputed"
    stale = await contract.client.post(
        f"/api/v1/validation-queries/{queries['2026-05']}/resolution",
        json={"action": "accept_evidence", "note": "evidence seen"},
        headers={**commissioner(stack), "If-Match": may.headers["ETag"]},
    )
    assert stale.status_code == 412
    by_trust = await contract.client.post(
        f"/api/v1/validation-queries/{queries['2026-05']}/resolution",
        json={"action": "accept_evidence", "note": "x"},
        headers={**trust, "If-Match": disputed.headers["ETag"]},
    )
    assert by_trust.status_code == 403
    settled = await contract.client.post(
        f"/api/v1/validation-queries/{queries['2026-05']}/resolution",
        json={"action": "accept_evidence", "note": "evidence seen"},
        headers={**commissioner(stack), "If-Match": disputed.headers["ETag"]},
    )
    assert settled.json()["status"] == "evidence_accepted" and settled.json()["funded_adjustment"] == "500.00"

    june = await read(queries["2026-06"])
    accepted = await contract.client.post(
        f"/api/v1/validation-queries/{queries['2026-06']}/response",
        json={"action": "accept"},
        headers={**trust, "If-Match": june.headers["ETag"]},
    )
    assert accepted.json()["status"] == "accepted" and accepted.json()["funded_adjustment"] == "0.00"
    again = await contract.client.post(
        f"/api/v1/validation-queries/{queries['2026-06']}/response",
        json={"action": "dispute", "evidence_text": "late"},
        headers={**trust, "If-Match": accepted.headers["ETag"]},
    )
    assert again.status_code == 409 and again.json()["current_state"] == "accepted"

    resolved = await settled_events(stack, contract, "contract.validation_query.resolved", provider_ods=provider)
    assert sorted((e["data"]["period"], e["data"]["outcome"], e["data"]["funded_adjustment"]) for e in resolved) == [
        ("2026-05", "evidence_accepted", "500.00"),
        ("2026-06", "accepted", "0.00"),
    ]
    # funded on resolution: the May line (no approval, so on the high-cost drugs category line) now
    # counts as actual spend; June's, not funded, does not. The authorised CDF lines count every month.
    outturn = (
        await contract.client.get(
            "/api/v1/forecast-outturn", params={"provider": provider, "fy": "2026/27"}, headers=commissioner(stack)
        )
    ).json()
    actuals = {x["budget_line_id"]: [m["actual"] for m in x["months"][1:3]] for x in outturn["lines"]}  # M2, M3
    assert actuals == {seed["cdf_line"]: ["100.00", "100.00"], seed["ifr_line"]: ["500.00", "0.00"]}

    report = await contract.client.get(
        "/api/v1/reports/challenged-value", params={"provider": provider, "fy": "2026/27"}, headers=commissioner(stack)
    )
    rows = [
        (r["period"], r["queries"], r["challenged_value"], r["not_funded_value"], r["funded_on_resolution_value"])
        for r in report.json()
    ]
    assert rows == [
        ("2026-05", 1, "500.00", "0.00", "500.00"),
        ("2026-06", 1, "200.00", "200.00", "0.00"),
        (None, 2, "700.00", "200.00", "500.00"),
    ]
    for path in ("/api/v1/reports/challenged-value", "/api/v1/reports/challenged-value.csv"):
        # not a year label (it names the CSV's file): a 422 at the field, not a header the server cannot write
        bad = await contract.client.get(path, params={"fy": "\u00b5_\u00b7L"}, headers=commissioner(stack))
        assert bad.status_code == 422 and "fy" in bad.text
    export = await contract.client.get(
        "/api/v1/validation-queries.csv", params={"provider": provider}, headers=commissioner(stack)
    )
    exported = sorted(
        (r["period"], r["status"], r["evidence_reference"]) for r in csv.DictReader(io.StringIO(export.text))
    )
    assert exported == [("2026-05", "evidence_accepted", "BTQ-12345"), ("2026-06", "accepted", "")]
