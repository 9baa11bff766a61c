"""Helpers for the CDF integration tests: the seeded list, confirmed clinicians, application bodies."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any

import httpx

from cdf_service.synthetic.people import gmc_number
from cdf_service.use_cases.list_loader import SEED_LIST
from embedded_stack.testing import TestStack, eventually

_rng = random.Random()
_patients = itertools.count(random.Random().randrange(10_000, 90_000))
PLANNED = date.today() + timedelta(days=7)


def next_patient_index() -> int:
    return next(_patients)


async def load_seed_list(client: httpx.AsyncClient, stack: TestStack) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/cdf/list/import",
        content=SEED_LIST.read_bytes(),
        headers={**stack.auth("X24", "cdf_manager"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def confirmed_clinician(client: httpx.AsyncClient, stack: TestStack, trust: str, confirm: bool = True) -> str:
    gmc = gmc_number(_rng)
    registered = await client.post(
        "/api/v1/cdf/clinicians",
        json={"trust_ods": trust, "gmc_number": gmc, "name": f"Dr {gmc}", "email": f"dr.{gmc}@nhs.net"},
        headers=stack.auth(trust, "clinician"),
    )
    assert registered.status_code == 201, registered.text
    if confirm:
        confirmed = await client.post(
            f"/api/v1/cdf/clinicians/{registered.json()['id']}/confirm",
            headers={**stack.auth(trust, "trust_cdf_lead"), "If-Match": registered.headers["ETag"]},
        )
        assert confirmed.status_code == 200, confirmed.text
    return gmc


async def entry(client: httpx.AsyncClient, stack: TestStack, entry_id: str) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/cdf/list/{entry_id}", params={"on": PLANNED.isoformat()}, headers=stack.auth("RRV", "clinician")
    )
    assert response.status_code == 200, response.text
    return response.json()


def application_body(
    listed: dict[str, Any], nhs_number: str, trust: str, gmc: str, planned: date = PLANNED, **answers: bool
) -> dict[str, Any]:
    return {
        "nhs_number": nhs_number,
        "date_of_birth": "1961-04-12",
        "provider_ods": trust,
        "entry_id": listed["entry_id"],
        "clinician_gmc": gmc,
        "answers": {c["code"]: answers.get(c["code"], True) for c in listed["criteria"]},
        "planned_start": planned.isoformat(),
        "consent_confirmed": True,
    }


async def processed(
    client: httpx.AsyncClient, stack: TestStack, submission_id: str, within: float = 120
) -> dict[str, Any]:
    """The SACT submission once processed (a failed one fails the test)."""

    async def done() -> dict[str, Any] | None:
        got = await client.get(f"/api/v1/sact/submissions/{submission_id}", headers=stack.auth("X24", "cdf_manager"))
        body = got.json()
        assert body["status"] != "failed", body
        return body if body["status"] == "processed" else None

    return await eventually(done, within=within, interval=0.05)
