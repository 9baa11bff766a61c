"""Urgent IFR decisions across services: a chair's action in ifr-service commits money in
contract-service at once; the panel's overturn releases it; a ratification is noted with no money
change."""

from ifr_http import MEMBERS, REASONS, Ifr

from embedded_stack.testing import TestStack, eventually
from ifr_service.use_cases.workflow import today

EVERYONE = [m["member_id"] for m in MEMBERS]


async def test_chairs_action_commits_then_overturn_releases_and_ratification_is_noted(stack: TestStack) -> None:
    finance = stack.auth("X24", "contract_manager")
    async with stack.service("ifr") as svc, stack.service("contract") as contract:
        ifr = Ifr(svc.client, stack)

        async def commitment(reference: str, **expect: object) -> dict | None:
            response = await contract.client.get(
                "/api/v1/commitments", params={"source_reference": reference}, headers=finance
            )
            rows = response.json() if response.status_code == 200 else []
            assert len(rows) <= 1
            if rows and all(rows[0][k] == v for k, v in expect.items()):
                return rows[0]
            return None

        overturned, panel = await ifr.by_chairs_action("approved")
        held = await eventually(lambda: commitment(overturned["reference"], status="committed"))
        assert (held["amount"], held["decision_basis"], held["decision_number"]) == ("15000.00", "chairs_action", 1)
        assert held["ratification_due"] is not None and held["ratified_on"] is None

        case = await ifr.act(overturned, "list-for-panel", {"panel_id": panel["id"]})
        await ifr.act(case, "overturn", {"outcome": "declined", "reasons": REASONS, "present": EVERYONE})
        released = await eventually(lambda: commitment(overturned["reference"], status="declined"))
        assert (released["amount"], released["released_amount"], released["decision_basis"]) == (
            "0.00",
            "15000.00",
            "panel",
        )
        assert released["decision_number"] > 1

        ratified, panel = await ifr.by_chairs_action("approved")
        await eventually(lambda: commitment(ratified["reference"], status="committed"))
        case = await ifr.act(ratified, "list-for-panel", {"panel_id": panel["id"]})
        await ifr.act(case, "ratify", {"present": EVERYONE})
        noted = await eventually(lambda: commitment(ratified["reference"], ratified_on=today().isoformat()))
        assert (noted["status"], noted["amount"], noted["decision_basis"]) == ("committed", "15000.00", "chairs_action")
