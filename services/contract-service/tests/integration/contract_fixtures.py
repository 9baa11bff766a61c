"""Helpers shared by the contract-service tests: providers, contracts, budget lines and events."""

from __future__ import annotations

import itertools
import json
import random
import string
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select

from casework.identifiers import nhs_number_check_digit, patient_ref, verhoeff_check_digit
from embedded_stack.testing import TestStack, envelope_for, eventually, publish

_used: set[str] = set()
_nhs_counter = itertools.count(random.randrange(1, 400_000))


def new_provider() -> str:
    """A fresh 3-character ODS code, so tests sharing one database never see each other's data."""
    while True:
        code = "Q" + "".join(random.choices(string.ascii_uppercase + string.digits, k=2))
        if code not in _used:
            _used.add(code)
            return code


def new_nhs_number() -> str:
    """A valid test NHS number (999 range)."""
    while True:
        first_nine = f"999{next(_nhs_counter):06d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


def dmd(n: int) -> str:
    base = f"37620{n:04d}1000001"[:14] + "10"
    return base + str(verhoeff_check_digit(base))


DRUG_A, DRUG_B, DRUG_C = dmd(11), dmd(22), dmd(33)


def ref_of(service: Any, nhs_number: str) -> str:
    return patient_ref(nhs_number, service.settings.patient_ref_key.get_secret_value())


def commissioner(stack: TestStack) -> dict[str, str]:
    return stack.auth("X24", "contract_manager")


def terms(hub: str = "NW") -> dict[str, Any]:
    return {
        "schedules": [{"hub": hub, "hub_name": "North West specialised commissioning"}],
        "service_lines": [
            {
                "code": "CARD01",
                "hub": hub,
                "description": "Adult cardiac surgery",
                "price": "1000.00",
                "activity_plan": ["10"] * 12,
            },
            {
                "code": "DRUGS",
                "hub": hub,
                "description": "Excluded drugs (pass-through)",
                "category": "excluded_drugs",
                "price": "50.00",
                "activity_plan": ["10"] * 12,
            },
        ],
    }


async def create_contract(client: httpx.AsyncClient, stack: TestStack, provider: str, fy: str = "2026/27") -> dict:
    response = await client.post(
        "/api/v1/contracts",
        json={
            "provider_ods": provider,
            "financial_year": fy,
            "title": f"{provider} NHS Standard Contract",
            "terms": terms(),
        },
        headers=commissioner(stack),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def add_line(
    client: httpx.AsyncClient, stack: TestStack, contract_id: str, kind: str, budget: str, **key: str
) -> dict:
    body = {"kind": kind, "line_name": key.pop("line_name", f"{kind} {key}"), "budget": budget, **key}
    response = await client.post(
        f"/api/v1/contracts/{contract_id}/budget-lines", json=body, headers=commissioner(stack)
    )
    assert response.status_code == 201, response.text
    return response.json()


def cdf_ref(provider: str, patient: str, drug: str, reference: str | None = None) -> dict[str, Any]:
    return {
        "application_id": str(uuid.uuid4()),
        "reference": reference or f"CDF-{uuid.uuid4().hex[:10].upper()}",
        "provider_ods": provider,
        "entry_id": "CDF-0042",
        "dmd_id": drug,
        "patient_ref": patient,
    }


def cdf_approved(base: dict[str, Any], amount: str, approved_on: date = date(2026, 4, 20)) -> Any:
    data = base | {
        "entry_version": 1,
        "drug_name": "Examplimab",
        "indication": "Second line",
        "clinician_gmc": "7654321",
        "clinician_email": "a.clinician@nhs.net",
        "planned_start": "2026-05-04",
        "lapse_due": "2026-06-01",
        "approved_at": datetime.combine(approved_on, datetime.min.time(), UTC).isoformat(),
        "expected_cost": amount,
    }
    return envelope_for("cdf.application.approved", base["application_id"], data)


def ifr_decision(
    provider: str, patient: str, outcome: str, cost: str | None, code: str | None, decided: str = "2026-05-02"
) -> Any:
    request_id = str(uuid.uuid4())
    data = {
        "request_id": request_id,
        "reference": f"IFR-{uuid.uuid4().hex[:8].upper()}",
        "provider_ods": provider,
        "state": "decided",
        "urgent": False,
        "clinician_email": "a.clinician@nhs.net",
        "outcome": outcome,
        "reasons": {"exceptionality": "x", "clinical_effectiveness": "x", "value_for_money": "x"},
        "conditions": [],
        "panel_id": None,
        "patient_ref": patient,
        "treatment_name": "Examplimab",
        "treatment_code": code,
        "approved_cost": cost,
        "decided_on": decided,
    }
    return envelope_for("ifr.decision.made", request_id, data)


def later_decision(earlier: Any, number: int, outcome: str, cost: str | None, **fields: Any) -> Any:
    """A further decision on the same IFR request (`number` on it, superseding `earlier`'s decision);
    `fields` may set basis, ratification_due, decided_on, decision_id, supersedes."""
    data = dict(earlier.data) | {"outcome": outcome, "approved_cost": cost, "decision_number": number}
    data |= {"decision_id": str(uuid.uuid4()), "supersedes": earlier.data.get("decision_id"), "basis": "panel"}
    data["ratification_due"] = None
    return envelope_for("ifr.decision.made", data["request_id"], data | fields)


def ifr_ratified(decision: Any, ratified_on: str = "2026-05-09") -> Any:
    data = {k: decision.data[k] for k in ("request_id", "reference", "provider_ods", "urgent", "clinician_email")}
    data |= {
        "state": "decided",
        "decision_id": decision.data["decision_id"],
        "outcome": decision.data["outcome"],
        "panel_id": str(uuid.uuid4()),
        "ratified_on": ratified_on,
    }
    return envelope_for("ifr.decision.ratified", data["request_id"], data)


def forecast_event(provider: str, entry: str, drug: str, monthly: list[str], as_of: str = "2026-06-30") -> Any:
    """A cdf.forecast.updated with actuals for M1-M3 and forecasts after; outturn = their sum."""
    months = [
        {
            "month": f"{2026 + (m > 9)}-{(m + 3 - 1) % 12 + 1:02d}",
            "fy_month": m,
            "actual": monthly[m - 1] if m <= 3 else "0",
            "forecast": "0" if m <= 3 else monthly[m - 1],
        }
        for m in range(1, 13)
    ]
    total = sum(Decimal(x) for x in monthly)
    data = {
        "provider_ods": provider,
        "entry_id": entry,
        "dmd_id": drug,
        "financial_year": "2026/27",
        "as_of": as_of,
        "actual_to_date": str(sum(Decimal(x) for x in monthly[:3])),
        "forecast_outturn": str(total),
        "lower": str(total * Decimal("0.9")),
        "upper": str(total * Decimal("1.1")),
        "run_rate_outturn": str(total),
        "months": months,
    }
    return envelope_for("cdf.forecast.updated", f"{provider}:{entry}", data)


async def send(stack: TestStack, *envelopes: Any) -> None:
    await publish(stack.bootstrap_servers, list(envelopes))


async def read_to_end(bootstrap_servers: str, topic: str) -> list[Any]:
    """Every record on the topic up to its current end: partitions assigned directly (no consumer
    group to join, so it takes milliseconds rather than a rebalance)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        await consumer.topics()  # loads the metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[Any] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(*partitions, timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def contract_events(stack: TestStack, event_type: str, **match: Any) -> list[dict[str, Any]]:
    """Events of a type on contract.events whose payload matches every given field."""
    found = []
    for record in await read_to_end(stack.bootstrap_servers, "contract.events"):
        envelope = json.loads(record.value)
        if envelope["type"] == event_type and all(envelope["data"].get(k) == v for k, v in match.items()):
            found.append(envelope)
    return found


async def outbox_drained(service: Any) -> bool:
    """True once every event the service committed is on the broker (so counting them is fair)."""
    outbox = service.runtime.tables.outbox
    async with service.runtime.sessions() as session:
        waiting = await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
    return waiting == 0


async def settled_events(stack: TestStack, service: Any, event_type: str, **match: Any) -> list[dict[str, Any]]:
    await eventually(lambda: outbox_drained(service))
    return await contract_events(stack, event_type, **match)


async def stored_for(service: Any, trust: str) -> dict[str, Any]:
    """What a what-if about `trust` must not change: its commitments, alerts and budget lines (with their
    versions and at-risk state), the events about it in the outbox, and the audit rows callers made
    (consumers of other tests' events may be writing meanwhile: those are left out)."""
    from contract_service.db.models import BudgetAlert, BudgetLine, Commitment
    from contract_service.use_cases.commitments import SYSTEM

    tables = service.runtime.tables
    about = tables.outbox.c.envelope["data"]["provider_ods"].astext == trust
    lines = select(BudgetLine.id, BudgetLine.version, BudgetLine.at_risk).where(BudgetLine.provider_ods == trust)
    async with service.runtime.sessions() as session:
        return {
            "commitments": await session.scalar(
                select(func.count()).select_from(Commitment).where(Commitment.provider_ods.startswith(trust))
            ),
            "alerts": await session.scalar(
                select(func.count()).select_from(BudgetAlert).where(BudgetAlert.provider_ods == trust)
            ),
            "lines": list(await session.execute(lines)),
            "outbox": await session.scalar(select(func.count()).select_from(tables.outbox).where(about)),
            "audit by callers": await session.scalar(
                select(func.count()).select_from(tables.audit).where(tables.audit.c.actor != SYSTEM)
            ),
        }
