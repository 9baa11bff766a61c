"""The same Idempotency-Key posted many times at once: one record, and every answer the first one's
(the requests that arrived while the first was in flight wait for it and replay its response: no 409)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
from samples import APPLICATION, prepare_cdf

from embedded_stack.testing import TestStack
from ifr_service.api.examples import APPLICATION_EXAMPLE

CONCURRENT = 50


async def _same_key_at_once(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> list:
    key = {**headers, "Idempotency-Key": f"same-{uuid.uuid4()}"}
    return list(await asyncio.gather(*(client.post(path, json=body, headers=key) for _ in range(CONCURRENT))))


def _one_answer(answers: list[httpx.Response]) -> str:
    assert Counter(a.status_code for a in answers) == {201: CONCURRENT}, [
        a.text for a in answers if a.status_code != 201
    ][:2]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == CONCURRENT - 1
    return ids.pop()


async def test_ifr_same_key_posted_50_times_at_once_is_one_draft_and_50_answers(stack: TestStack) -> None:
    clinician = stack.auth("RRV", "clinician")
    async with stack.service("ifr", run_workers=False) as svc:
        answers = await _same_key_at_once(svc.client, "/api/v1/ifr/requests", APPLICATION_EXAMPLE, clinician)
        case_id = _one_answer(answers)
        mine = (await svc.client.get("/api/v1/ifr/requests", headers=clinician, params={"limit": 200})).json()
        assert [c["id"] for c in mine["items"]].count(case_id) == 1
        reference = next(c["reference"] for c in mine["items"] if c["id"] == case_id)
        assert [c["reference"] for c in mine["items"]].count(reference) == 1


async def test_cdf_same_key_posted_50_times_at_once_is_one_application_and_50_answers(stack: TestStack) -> None:
    async with stack.service("cdf", database="cdf_same_key", run_workers=False) as svc:
        await prepare_cdf(svc.client, stack)
        approved = await _same_key_at_once(
            svc.client, "/api/v1/cdf/applications", APPLICATION, stack.auth("RRV", "clinician")
        )
        _one_answer(approved)
        rejected = {**APPLICATION, "nhs_number": "401 023 2137", "consent_confirmed": False}  # no live approval
        _one_answer(
            await _same_key_at_once(svc.client, "/api/v1/cdf/applications", rejected, stack.auth("RRV", "clinician"))
        )
