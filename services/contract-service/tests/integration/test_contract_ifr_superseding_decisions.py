"""Superseding IFR decisions, handled through the real inbox path on PostgreSQL (workers off, so each
delivery is driven by the test and the events it causes are read from the outbox).

A chair's action is in effect at once; the panel ratifies or overturns it; a later decision replaces
the earlier one's effect on the request's single commitment; a late, lower-numbered decision changes
nothing but is still recorded in the inbox; a redelivery has its effect once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from contract_fixtures import (
    DRUG_B,
    add_line,
    commissioner,
    create_contract,
    ifr_decision,
    ifr_ratified,
    later_decision,
    new_nhs_number,
    new_provider,
    ref_of,
)
from sqlalchemy import func, select

from casework.inbox import Delivery
from embedded_stack.testing import RunningService, TestStack, envelope_for


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract", database="contract_ifr_decisions", run_workers=False) as service:
        yield service


async def deliver(contract: RunningService, envelope: Any) -> str:
    """One delivery through the consumer's inbox + handler transaction: processed | duplicate."""
    runtime = contract.runtime
    handler = runtime.definition.handlers[envelope.type]
    delivery = Delivery("ifr.events", 0, None, envelope.to_bytes())
    return await runtime.consumer.handle_once(envelope, handler, delivery)


async def commitment(contract: RunningService, stack: TestStack, reference: str) -> dict | None:
    response = await contract.client.get(
        "/api/v1/commitments", params={"source_reference": reference}, headers=commissioner(stack)
    )
    assert response.status_code == 200, response.text
    rows = response.json()
    assert len(rows) <= 1  # one commitment per request, whatever was decided
    return rows[0] if rows else None


async def money_events(contract: RunningService, reference: str) -> list[tuple[str, dict]]:
    """The commitment events the service committed for this request, in order."""
    outbox = contract.runtime.tables.outbox
    async with contract.runtime.sessions() as session:
        rows = await session.scalars(
            select(outbox.c.envelope)
            .where(outbox.c.envelope["data"]["source_reference"].astext == reference)
            .order_by(outbox.c.id)
        )
        return [(e["type"], e["data"]) for e in rows]


async def in_inbox(contract: RunningService, envelope: Any) -> int:
    inbox = contract.runtime.tables.inbox
    async with contract.runtime.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(inbox).where(inbox.c.event_id == envelope.id))
        return int(found or 0)


async def provider_with_ifr_line(contract: RunningService, stack: TestStack) -> tuple[str, str]:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "high_cost_drug", "60000", category="ifr")
    return provider, line["id"]


def chairs_action(provider: str, patient: str, outcome: str, cost: str | None) -> Any:
    """Decision 1 on a new urgent request, by chair's action, to be ratified by 20 May."""
    base = ifr_decision(provider, patient, outcome, cost, DRUG_B)
    return later_decision(base, 1, outcome, cost, basis="chairs_action", ratification_due="2026-05-20")


def brief(events: list[tuple[str, dict]]) -> list[tuple[str, ...]]:
    out = []
    for kind, data in events:
        if kind == "contract.commitment.recorded":
            out.append((kind, data["amount"], data["previous_amount"]))
        else:
            out.append((kind, data["reason"], data["released_amount"], data["remaining_amount"]))
    return out


async def test_overturned_chairs_action_releases_what_was_not_spent(stack: TestStack, contract: RunningService) -> None:
    provider, line = await provider_with_ifr_line(contract, stack)
    nhs = new_nhs_number()
    first = chairs_action(provider, ref_of(contract, nhs), "approved", "9000.00")
    reference = first.data["reference"]
    assert await deliver(contract, first) == "processed"
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["amount"], held["budget_line_id"]) == ("committed", "9000.00", line)
    assert (held["decision_basis"], held["decision_number"], held["ratification_due"]) == (
        "chairs_action",
        1,
        "2026-05-20",
    )

    # treatment given while the chair's action stood is spent under it
    given = {
        "nhs_number": nhs,
        "dmd_id": DRUG_B,
        "indication": "rapid deterioration",
        "administered_on": "2026-05-05",
        "quantity": "1",
        "cost": "1200.00",
        "approval_reference": reference,
    }
    body = {"provider_ods": provider, "period": "2026-05", "submission_id": "R-1", "lines": [given]}
    returned = await contract.client.post(
        "/api/v1/drug-returns", json=body, headers=stack.auth(provider, "provider_system")
    )
    assert returned.status_code == 201, returned.text
    assert returned.json()["authorised_value"] == "1200.00"

    overturned = later_decision(first, 2, "declined", None, decided_on="2026-05-12")
    assert await deliver(contract, overturned) == "processed"
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["amount"], held["released_amount"], held["valid_until"]) == (
        "declined",
        "1200.00",
        "7800.00",
        "2026-05-12",
    )
    assert (held["decision_number"], held["decision_basis"], held["decision_id"]) == (
        2,
        "panel",
        overturned.data["decision_id"],
    )
    assert brief(await money_events(contract, reference)) == [
        ("contract.commitment.recorded", "9000.00", None),
        ("contract.commitment.released", "declined", "7800.00", "1200.00"),
    ]
    outturn = await contract.client.get(
        "/api/v1/forecast-outturn", params={"provider": provider, "fy": "2026/27"}, headers=commissioner(stack)
    )
    [ifr_line] = [x for x in outturn.json()["lines"] if x["budget_line_id"] == line]
    assert Decimal(ifr_line["committed"]) == 0 and Decimal(ifr_line["actual_to_date"]) == Decimal("1200")


async def test_a_late_superseded_decision_is_ignored_but_recorded(stack: TestStack, contract: RunningService) -> None:
    provider, _ = await provider_with_ifr_line(contract, stack)
    first = chairs_action(provider, "p-late", "approved", "9000.00")
    overturned = later_decision(first, 2, "declined", None)
    reference = first.data["reference"]

    # the overturn arrives first (nothing committed yet), then the chair's action it replaced
    assert await deliver(contract, overturned) == "processed"
    assert await deliver(contract, first) == "processed"
    assert await in_inbox(contract, first) == 1
    assert await commitment(contract, stack, reference) is None
    assert await money_events(contract, reference) == []

    # with a commitment standing: a late copy of an older decision leaves it alone
    approved_again = later_decision(first, 3, "approved", "6000.00")
    assert await deliver(contract, approved_again) == "processed"
    stale = later_decision(first, 2, "approved_with_conditions", "99999.00")
    assert await deliver(contract, stale) == "processed"
    assert await in_inbox(contract, stale) == 1
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["amount"], held["decision_number"]) == ("committed", "6000.00", 3)
    assert brief(await money_events(contract, reference)) == [("contract.commitment.recorded", "6000.00", None)]


async def test_a_declined_chairs_action_overturned_to_approval_records_one(
    stack: TestStack, contract: RunningService
) -> None:
    provider, line = await provider_with_ifr_line(contract, stack)
    first = chairs_action(provider, "p-dec", "declined", None)
    reference = first.data["reference"]
    assert await deliver(contract, first) == "processed"
    assert await commitment(contract, stack, reference) is None
    approved = later_decision(first, 2, "approved", "4500.00", decided_on="2026-05-14")
    assert await deliver(contract, approved) == "processed"
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["amount"], held["valid_from"], held["budget_line_id"]) == (
        "committed",
        "4500.00",
        "2026-05-14",
        line,
    )
    assert brief(await money_events(contract, reference)) == [("contract.commitment.recorded", "4500.00", None)]


async def test_a_changed_amount_adjusts_the_commitment(stack: TestStack, contract: RunningService) -> None:
    provider, _ = await provider_with_ifr_line(contract, stack)
    first = chairs_action(provider, "p-amt", "approved", "5000.00")
    reference = first.data["reference"]
    raised = later_decision(first, 2, "approved_with_conditions", "7000.00", conditions=["review at 3 months"])
    reduced = later_decision(first, 3, "approved", "4000.00")
    declined = later_decision(first, 4, "declined", None)
    funded_again = later_decision(first, 5, "approved", "6000.00")
    for envelope in (first, raised, reduced):
        assert await deliver(contract, envelope) == "processed"
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["original_amount"], held["amount"], held["released_amount"]) == (
        "committed",
        "4000.00",
        "4000.00",
        "3000.00",
    )
    for envelope in (declined, funded_again):  # reconsidered: declined, then funded again
        assert await deliver(contract, envelope) == "processed"
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["amount"], held["valid_until"], held["decision_number"]) == (
        "committed",
        "6000.00",
        None,
        5,
    )
    assert brief(await money_events(contract, reference)) == [
        ("contract.commitment.recorded", "5000.00", None),
        ("contract.commitment.recorded", "7000.00", "5000.00"),
        ("contract.commitment.released", "reduced", "3000.00", "4000.00"),
        ("contract.commitment.released", "declined", "4000.00", "0.00"),
        ("contract.commitment.recorded", "6000.00", "0.00"),
    ]


async def test_a_redelivered_decision_has_its_effect_once(stack: TestStack, contract: RunningService) -> None:
    provider, _ = await provider_with_ifr_line(contract, stack)
    first = chairs_action(provider, "p-red", "approved", "8000.00")
    reduced = later_decision(first, 2, "approved", "5000.00")
    reference = first.data["reference"]
    assert [await deliver(contract, e) for e in (first, reduced, reduced, first)] == [
        "processed",
        "processed",
        "duplicate",
        "duplicate",
    ]
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["amount"], held["released_amount"]) == ("5000.00", "3000.00")
    assert brief(await money_events(contract, reference)) == [
        ("contract.commitment.recorded", "8000.00", None),
        ("contract.commitment.released", "reduced", "3000.00", "5000.00"),
    ]


async def test_ratification_is_recorded_without_moving_money(stack: TestStack, contract: RunningService) -> None:
    provider, _ = await provider_with_ifr_line(contract, stack)
    first = chairs_action(provider, "p-rat", "approved", "8000.00")
    reference = first.data["reference"]
    assert await deliver(contract, first) == "processed"
    ratified = ifr_ratified(first, "2026-05-09")
    assert [await deliver(contract, ratified), await deliver(contract, ratified)] == ["processed", "duplicate"]
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["amount"], held["ratified_on"], held["decision_basis"]) == (
        "committed",
        "8000.00",
        "2026-05-09",
        "chairs_action",
    )
    assert brief(await money_events(contract, reference)) == [("contract.commitment.recorded", "8000.00", None)]

    # a ratification that overtakes its decision is applied when the decision arrives
    other = chairs_action(provider, "p-rat-2", "approved", "3000.00")
    assert await deliver(contract, ifr_ratified(other, "2026-05-11")) == "processed"
    assert await commitment(contract, stack, other.data["reference"]) is None
    assert await deliver(contract, other) == "processed"
    held = await commitment(contract, stack, other.data["reference"])
    assert held is not None and held["ratified_on"] == "2026-05-11"


async def test_unnumbered_decisions_apply_in_arrival_order(stack: TestStack, contract: RunningService) -> None:
    provider, _ = await provider_with_ifr_line(contract, stack)
    approved = ifr_decision(provider, "p-old", "approved", "2500.00", DRUG_B)
    reference = approved.data["reference"]
    data = dict(approved.data) | {"outcome": "declined", "approved_cost": None, "decided_on": "2026-06-01"}
    declined = envelope_for("ifr.decision.made", data["request_id"], data)
    for envelope in (approved, declined):
        assert await deliver(contract, envelope) == "processed"
    held = await commitment(contract, stack, reference)
    assert held is not None
    assert (held["status"], held["amount"], held["decision_number"]) == ("declined", "0.00", None)
    assert brief(await money_events(contract, reference)) == [
        ("contract.commitment.recorded", "2500.00", None),
        ("contract.commitment.released", "declined", "2500.00", "0.00"),
    ]
