"""Approvals from events become funded commitments on the right budget line; ended approvals
release what was not spent; redelivery never commits twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from contract_fixtures import (
    DRUG_A,
    DRUG_B,
    DRUG_C,
    add_line,
    cdf_approved,
    cdf_ref,
    commissioner,
    contract_events,
    create_contract,
    ifr_decision,
    new_nhs_number,
    new_provider,
    ref_of,
    send,
)

from embedded_stack.testing import RunningService, TestStack, envelope_for, eventually


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


def new_patient(contract: RunningService) -> str:
    """A real patient_ref (HMAC of a test NHS number), as cdf and ifr put on the bus: a made-up short
    one such as "p-x" can occur in ordinary mail text, and notification-service rightly refuses to mail it."""
    return ref_of(contract, new_nhs_number())


async def commitments(contract: RunningService, stack: TestStack, **params: str) -> list[dict]:
    response = await contract.client.get("/api/v1/commitments", params=params, headers=commissioner(stack))
    assert response.status_code == 200, response.text
    return response.json()


async def test_cdf_and_ifr_approvals_land_on_the_right_lines(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    cdf_line = await add_line(contract.client, stack, cid, "cdf", "500000", category="cdf")
    drug_line = await add_line(contract.client, stack, cid, "high_cost_drug", "90000", dmd_id=DRUG_B)
    ifr_line = await add_line(contract.client, stack, cid, "high_cost_drug", "40000", category="IFR")

    approved = cdf_approved(cdf_ref(provider, new_patient(contract), DRUG_A), "42000.00")
    ifr_for_drug = ifr_decision(provider, new_patient(contract), "approved_with_conditions", "12500.00", DRUG_B)
    ifr_procedure = ifr_decision(provider, new_patient(contract), "approved", "8000.00", "X72.1")  # OPCS: no drug line
    declined = ifr_decision(provider, new_patient(contract), "declined", None, DRUG_B)
    await send(stack, approved, ifr_for_drug, ifr_procedure, declined)
    # the same event again, and another event with the same approval reference: still one commitment
    await send(stack, approved, cdf_approved(approved.data, "42000.00"))

    rows = await eventually(lambda: _at_least(contract, stack, 3, provider=provider))
    by_ref = {r["source_reference"]: r for r in rows}
    assert len(rows) == 3
    assert by_ref[approved.data["reference"]]["budget_line_id"] == cdf_line["id"]
    assert by_ref[ifr_for_drug.data["reference"]]["budget_line_id"] == drug_line["id"]
    assert by_ref[ifr_procedure.data["reference"]]["budget_line_id"] == ifr_line["id"]
    assert by_ref[ifr_for_drug.data["reference"]]["amount"] == "12500.00"
    assert declined.data["reference"] not in by_ref

    recorded = await eventually(
        lambda: contract_events(stack, "contract.commitment.recorded", source_reference=approved.data["reference"])
    )
    assert len(recorded) == 1 and recorded[0]["data"]["budget_line_id"] == cdf_line["id"]
    assert recorded[0]["data"]["patient_ref"] == approved.data["patient_ref"]


async def _at_least(contract: RunningService, stack: TestStack, count: int, **params: str) -> list[dict] | None:
    rows = await commitments(contract, stack, **params)
    return rows if len(rows) >= count else None


async def test_unallocated_commitment_is_recorded_then_placed_when_a_line_exists(
    stack: TestStack, contract: RunningService
) -> None:
    provider = new_provider()
    decision = ifr_decision(provider, new_patient(contract), "approved", "7000.00", DRUG_C)
    await send(stack, decision)  # no contract, no line: recorded as unallocated, never dropped
    [row] = await eventually(lambda: commitments(contract, stack, source_reference=decision.data["reference"]))
    assert row["budget_line_id"] is None and row["amount"] == "7000.00"
    assert [
        r["source_reference"] for r in await commitments(contract, stack, provider=provider, unallocated="true")
    ] == [decision.data["reference"]]
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "high_cost_drug", "10000", category="ifr")
    [row] = await commitments(contract, stack, source_reference=decision.data["reference"])
    assert row["budget_line_id"] == line["id"]


async def test_lapsed_stopped_and_withdrawn_release_what_was_not_spent(
    stack: TestStack, contract: RunningService
) -> None:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    await add_line(contract.client, stack, cid, "cdf", "500000", category="cdf")
    lapsing, stopping, withdrawing = (cdf_ref(provider, new_patient(contract), DRUG_A) for _ in range(3))
    await send(stack, *(cdf_approved(ref, "30000.00") for ref in (lapsing, stopping, withdrawing)))
    await eventually(lambda: _at_least(contract, stack, 3, provider=provider))
    now = datetime.now(UTC).isoformat()
    ended = [
        envelope_for(
            "cdf.approval.lapsed",
            lapsing["application_id"],
            lapsing
            | {
                "planned_start": "2026-05-04",
                "lapse_due": "2026-06-01",
                "clinician_email": "a@nhs.net",
                "committed_amount": "30000.00",
            },
        ),
        envelope_for(
            "cdf.treatment.stopped",
            stopping["application_id"],
            stopping
            | {
                "final_treatment_date": "2026-08-10",
                "stop_reason": "progression",
                "cycles_given": 4,
                "cost_to_date": "11250.00",
            },
        ),
        envelope_for(
            "cdf.application.withdrawn",
            withdrawing["application_id"],
            withdrawing | {"withdrawn_at": now, "reason": "patient choice"},
        ),
    ]
    await send(stack, *ended, ended[1])  # the stop arrives twice: released once

    async def ended_rows() -> dict | None:
        rows = {r["source_reference"]: r for r in await commitments(contract, stack, provider=provider)}
        return rows if all(r["status"] != "committed" for r in rows.values()) else None

    rows = await eventually(ended_rows)
    assert (rows[lapsing["reference"]]["status"], rows[lapsing["reference"]]["amount"]) == ("lapsed", "0.00")
    stopped = rows[stopping["reference"]]
    assert (stopped["status"], stopped["amount"], stopped["released_amount"]) == ("stopped", "11250.00", "18750.00")
    assert stopped["valid_until"] == "2026-08-10"
    assert (rows[withdrawing["reference"]]["status"], rows[withdrawing["reference"]]["amount"]) == ("withdrawn", "0.00")
    released = await eventually(
        lambda: contract_events(stack, "contract.commitment.released", source_reference=stopping["reference"])
    )
    assert [(e["data"]["released_amount"], e["data"]["remaining_amount"]) for e in released] == [
        ("18750.00", "11250.00")
    ]


async def test_a_release_arriving_before_its_approval_is_kept(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    ref = cdf_ref(provider, new_patient(contract), DRUG_A)
    stopped = envelope_for(
        "cdf.treatment.stopped",
        str(uuid.uuid4()),
        ref
        | {
            "final_treatment_date": "2026-06-10",
            "stop_reason": "toxicity",
            "cycles_given": 1,
            "cost_to_date": "2500.00",
        },
    )
    await send(stack, stopped)
    await eventually(lambda: commitments(contract, stack, source_reference=ref["reference"]))
    await send(stack, cdf_approved(ref, "30000.00"))

    async def approved() -> dict | None:
        [row] = await commitments(contract, stack, source_reference=ref["reference"])
        return row if row["original_amount"] == "30000.00" else None

    row = await eventually(approved)
    assert (row["status"], row["amount"]) == ("stopped", "2500.00")  # the approval did not re-commit it
