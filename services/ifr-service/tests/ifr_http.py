"""HTTP steps shared by the IFR integration and flow tests."""

import copy
import uuid
from datetime import date
from typing import Any

import httpx
from ifr_samples import COMPLETE

from embedded_stack.testing import TestStack

MEMBERS = [
    {"member_id": "chair-a", "name": "Chair A", "role": "chair", "voting": True},
    {"member_id": "doc-a", "name": "Dr A", "role": "clinician", "voting": True},
    {"member_id": "ph-a", "name": "PH A", "role": "public_health", "voting": True},
    {"member_id": "lay-a", "name": "Lay A", "role": "lay_member", "voting": True},
    {"member_id": "pharm-a", "name": "Pharmacist A", "role": "pharmacist", "voting": False},
]
REVIEW_MEMBERS = [
    {"member_id": "chair-r", "name": "Chair R", "role": "chair", "voting": True},
    {"member_id": "doc-r", "name": "Dr R", "role": "clinician", "voting": True},
    {"member_id": "ph-r", "name": "PH R", "role": "public_health", "voting": True},
    {"member_id": "lay-r", "name": "Lay R", "role": "lay_member", "voting": True},
]
REASONS = {
    "exceptionality": "a rare genetic variant sets the patient apart",
    "clinical_effectiveness": "case series evidence of response",
    "value_for_money": "cost proportionate to the expected benefit",
}

URGENT = {"urgency": "urgent", "urgency_reason": "rapid deterioration: treatment needed within a week"}


def application(**sections: dict[str, Any]) -> dict[str, Any]:
    """The complete sample application with some fields changed: application(treatment={"name": "X"})."""
    data = copy.deepcopy(COMPLETE)
    for section, changes in sections.items():
        if isinstance(changes, dict):
            data[section] = {**data[section], **changes}
        else:
            data[section] = changes
    return data


class Ifr:
    """A small client of the IFR API for tests, with the roles a test needs."""

    def __init__(self, client: httpx.AsyncClient, stack: TestStack, trust: str = "RRV") -> None:
        self.client = client
        self.stack = stack
        self.trust = trust
        self.clinician = stack.auth(trust, "clinician")
        self.officer = stack.auth("X24", "ifr_officer", sub="officer-1")

    async def draft(self, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> dict:
        response = await self.client.post(
            "/api/v1/ifr/requests", json=application() if data is None else data, headers=headers or self.clinician
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def act(
        self,
        case: dict,
        action: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect: int = 200,
    ) -> dict:
        response = await self.client.post(
            f"/api/v1/ifr/requests/{case['id']}/{action}",
            json=body,
            headers={**(headers or self.officer), "If-Match": f'W/"{case["version"]}"'},
        )
        assert response.status_code == expect, f"{action}: {response.status_code} {response.text}"
        return response.json()

    async def submitted(self, data: dict[str, Any] | None = None, received_on: date | None = None) -> dict:
        case = await self.draft(data)
        if received_on is None:
            return await self.act(case, "submit", headers=self.clinician)
        return await self.act(case, "submit", {"received_on": received_on.isoformat()})

    async def screening(self, data: dict[str, Any] | None = None) -> dict:
        case = await self.act(await self.submitted(data), "acknowledge")
        return await self.act(case, "screen")

    async def panel(
        self, kind: str = "ifr", members: list[dict] | None = None, meeting: date | None = None, region: str = "Y56"
    ) -> dict:
        response = await self.client.post(
            "/api/v1/ifr/panels",
            json={
                "kind": kind,
                "name": f"{kind} panel {uuid.uuid4().hex[:6]}",
                "region": region,
                "meeting_date": (meeting or date.today()).isoformat(),
                "members": members or (REVIEW_MEMBERS if kind == "review" else MEMBERS),
            },
            headers=self.officer,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def listed(self, panel: dict | None = None, data: dict[str, Any] | None = None) -> tuple[dict, dict]:
        panel = panel or await self.panel()
        case = await self.act(await self.screening(data), "list-for-panel", {"panel_id": panel["id"]})
        return case, panel

    async def decided(self, outcome: str = "approved", **extra: Any) -> tuple[dict, dict]:
        case, panel = await self.listed()
        body = {"outcome": outcome, "reasons": REASONS, "present": [m["member_id"] for m in MEMBERS], **extra}
        return await self.act(case, "decide", body), panel

    async def by_chairs_action(self, outcome: str = "approved", **extra: Any) -> tuple[dict, dict]:
        """An urgent case listed for a panel and decided by its chair's action (awaiting ratification)."""
        case, panel = await self.listed(data=application(**URGENT))
        body = {"outcome": outcome, "reasons": REASONS, "urgent_reason": "cannot wait for the panel", **extra}
        return await self.act(case, "chairs-action", {"chair": "chair-a", **body}), panel

    async def get(self, case: dict, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get(f"/api/v1/ifr/requests/{case['id']}", headers=headers or self.officer)
