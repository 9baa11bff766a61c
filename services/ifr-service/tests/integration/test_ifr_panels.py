"""Panels: members by role, the agenda (all cases or none, each at its version), declared conflicts."""

import uuid
from datetime import date

from ifr_http import MEMBERS, REASONS, Ifr

from embedded_stack.testing import TestStack


async def test_agenda_lists_cases_all_or_none_with_conflicts(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        panel = await ifr.panel()
        first, second = await ifr.screening(), await ifr.screening()
        url = f"/api/v1/ifr/panels/{panel['id']}/agenda"
        stale = await svc.client.post(
            url,
            json={
                "cases": [
                    {"request_id": first["id"], "version": first["version"]},
                    {"request_id": second["id"], "version": second["version"] - 1},
                ]
            },
            headers=ifr.officer,
        )
        assert stale.status_code == 412
        assert (await ifr.get(first)).json()["state"] == "screening"  # nothing listed
        body = {
            "cases": [
                {"request_id": first["id"], "version": first["version"]},
                {"request_id": second["id"], "version": second["version"]},
            ],
            "conflicts": [{"request_id": second["id"], "member_id": "doc-a", "reason": "treated the patient"}],
        }
        listed = await svc.client.post(url, json=body, headers=ifr.officer)
        assert listed.status_code == 200, listed.text
        agenda = {a["request_id"]: a for a in listed.json()["agenda"]}
        assert set(agenda) == {first["id"], second["id"]}
        assert (
            agenda[second["id"]]["conflicted_members"] == ["doc-a"] and agenda[first["id"]]["conflicted_members"] == []
        )
        assert {agenda[i]["state"] for i in agenda} == {"listed_for_panel"}
        # listing again is an illegal move for the case now
        again = await svc.client.post(
            url, json={"cases": [{"request_id": first["id"], "version": first["version"] + 1}]}, headers=ifr.officer
        )
        assert again.status_code == 409 and again.json()["current_state"] == "listed_for_panel"
        # a member declares a conflict on the first case themselves; it then lacks a clinician
        member = stack.auth("X24", "panel_member", sub="ph-a")
        declared = await svc.client.post(
            f"/api/v1/ifr/panels/{panel['id']}/conflicts",
            json={"request_id": first["id"], "member_id": "ph-a", "reason": "relative"},
            headers=member,
        )
        assert declared.status_code == 200, declared.text
        for_someone_else = await svc.client.post(
            f"/api/v1/ifr/panels/{panel['id']}/conflicts",
            json={"request_id": first["id"], "member_id": "lay-a", "reason": "x"},
            headers=member,
        )
        assert for_someone_else.status_code == 422
        case = (await ifr.get(first)).json()
        present = [m["member_id"] for m in MEMBERS]
        refused = await ifr.act(
            case, "decide", {"outcome": "declined", "reasons": REASONS, "present": present}, expect=422
        )
        assert refused["quorum_missing"][0].startswith("public_health")
        history = (await svc.client.get(f"/api/v1/ifr/requests/{first['id']}/history", headers=ifr.officer)).json()
        assert any(h["action"] == "conflict_declared" and h["detail"]["member"] == "ph-a" for h in history)


async def test_panel_creation_rules_and_idempotency(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        body = {
            "kind": "ifr",
            "name": "March panel",
            "region": "Y62",
            "meeting_date": date.today().isoformat(),
            "members": MEMBERS,
        }
        key = {"Idempotency-Key": f"panel-{uuid.uuid4()}"}
        first = await svc.client.post("/api/v1/ifr/panels", json=body, headers={**ifr.officer, **key})
        again = await svc.client.post("/api/v1/ifr/panels", json=body, headers={**ifr.officer, **key})
        assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
        assert (first.json()["region"], first.json()["region_name"]) == ("Y62", "North West")
        # a panel belongs to a region: none, or one that is not a commissioning region, is 422 at the field
        for region in (None, "Y57", "London"):
            without = {k: v for k, v in body.items() if k != "region"} | ({"region": region} if region else {})
            refused = await svc.client.post("/api/v1/ifr/panels", json=without, headers=ifr.officer)
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "region", refused.text
        north_west = await svc.client.get("/api/v1/ifr/panels", params={"region": "Y62"}, headers=ifr.officer)
        assert first.json()["id"] in {p["id"] for p in north_west.json()["items"]}
        assert all(p["region"] == "Y62" for p in north_west.json()["items"])
        twice = await svc.client.post(
            "/api/v1/ifr/panels", json={**body, "members": [*MEMBERS, MEMBERS[0]]}, headers=ifr.officer
        )
        assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "members"
        # a meeting date the clocks cannot count from is the client's mistake, not a server error on listing
        for meeting in ("9999-12-30", "0001-01-01"):
            odd_body = {**body, "meeting_date": meeting}
            odd = await svc.client.post("/api/v1/ifr/panels", json=odd_body, headers=ifr.officer)
            assert odd.status_code == 422 and odd.json()["errors"][0]["field"] == "meeting_date", odd.text
        bad_role = await svc.client.post(
            "/api/v1/ifr/panels",
            json={**body, "members": [{**MEMBERS[0], "role": "wizard"}]},
            headers=ifr.officer,
        )
        assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["field"].startswith("members")
        assert (await svc.client.post("/api/v1/ifr/panels", json=body, headers=ifr.clinician)).status_code == 403
        # a future meeting cannot have decided yet
        future = await ifr.panel(meeting=date(2099, 12, 31))
        case, _ = await ifr.listed(future)
        assert {c["clock"]: c["due_date"] for c in case["clocks"]}["decision_letter"] == "2100-01-08"
        present = [m["member_id"] for m in MEMBERS]
        early = await ifr.act(
            case, "decide", {"outcome": "approved", "reasons": REASONS, "present": present}, expect=422
        )
        assert "2099-12-31" in early["detail"]
        # one case twice in one agenda is named as such (not a stale version)
        other = await ifr.screening()
        twice_listed = await svc.client.post(
            f"/api/v1/ifr/panels/{first.json()['id']}/agenda",
            json={"cases": [{"request_id": other["id"], "version": other["version"]}] * 2},
            headers=ifr.officer,
        )
        assert twice_listed.status_code == 422 and twice_listed.json()["errors"][0]["field"] == "cases"
        assert (await ifr.get(other)).json()["state"] == "screening"
        listed = (
            await svc.client.get("/api/v1/ifr/panels", params={"member": "chair-a", "kind": "ifr"}, headers=ifr.officer)
        ).json()
        assert future["id"] in {p["id"] for p in listed["items"]}
