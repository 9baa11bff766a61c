"""The case over HTTP: drafts, submission problems, the path to a decision, If-Match, idempotency."""

import asyncio
import uuid

import pytest
from ifr_http import MEMBERS, REASONS, REVIEW_MEMBERS, Ifr, application
from sqlalchemy import func, select, text

from embedded_stack.testing import TestStack
from ifr_service.api import actions as actions_api
from ifr_service.domain.letters import letter_templates


async def test_draft_partial_then_submit_names_every_missing_field(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        draft = await ifr.draft({"patient": {"name": "Alex Example"}, "clinician": {"trust_ods": "RRV"}})
        assert draft["state"] == "draft" and draft["reference"].startswith("IFR-")
        refused = await svc.client.post(
            f"/api/v1/ifr/requests/{draft['id']}/submit", headers={**ifr.clinician, "If-Match": f'"{draft["version"]}"'}
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        fields = {e["field"] for e in refused.json()["errors"]}
        assert {"patient.nhs_number", "treatment.name", "case.exceptionality", "patient_consent"} <= fields
        assert "patient.name" not in fields
        # fill the rest in, then the submission goes through
        patched = await svc.client.patch(
            f"/api/v1/ifr/requests/{draft['id']}",
            json=application(),
            headers={**ifr.clinician, "If-Match": f'"{draft["version"]}"'},
        )
        assert patched.status_code == 200, patched.text
        submitted = await ifr.act(patched.json(), "submit", headers=ifr.clinician)
        assert submitted["state"] == "received"
        assert {c["clock"] for c in submitted["clocks"]} == {
            "acknowledge",
            "triage",
            "screening_outcome",
            "panel_decision",
        }
        assert submitted["allowed_actions"] == ["acknowledge", "withdraw"]


async def test_malformed_values_are_refused_with_the_field_named(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        bad = application(patient={"nhs_number": "9990000019"}, treatment={"dmd_code": "3762811000001104"})
        response = await svc.client.post("/api/v1/ifr/requests", json=bad, headers=ifr.clinician)
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"patient.nhs_number", "treatment.dmd_code"}
        other_trust = application(clinician={"trust_ods": "RGT"})
        response = await svc.client.post("/api/v1/ifr/requests", json=other_trust, headers=ifr.clinician)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "clinician.trust_ods"


async def test_idempotency_key_returns_the_first_draft(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        headers = {**ifr.clinician, "Idempotency-Key": f"key-{uuid.uuid4()}"}
        first = await svc.client.post("/api/v1/ifr/requests", json=application(), headers=headers)
        again = await svc.client.post("/api/v1/ifr/requests", json=application(), headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.headers.get("idempotent-replayed") == "true"


async def test_state_changes_need_if_match_and_a_stale_one_gets_412(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, _ = await ifr.listed()
        url = f"/api/v1/ifr/requests/{case['id']}/decide"
        body = {"outcome": "approved", "reasons": REASONS, "present": [m["member_id"] for m in MEMBERS]}
        missing = await svc.client.post(url, json=body, headers=ifr.officer)
        assert missing.status_code == 428
        # two officers decide on the same version at the same moment: one wins, the other is told to reload
        officer_b = stack.auth("X24", "ifr_officer", sub="officer-2")
        etag = {"If-Match": f'W/"{case["version"]}"'}
        results = await asyncio.gather(
            svc.client.post(url, json=body, headers={**ifr.officer, **etag}),
            svc.client.post(url, json={**body, "outcome": "declined"}, headers={**officer_b, **etag}),
        )
        assert sorted(r.status_code for r in results) == [200, 412], [r.text for r in results]
        # and afterwards, the stale version is refused outright
        stale = await svc.client.post(
            f"/api/v1/ifr/requests/{case['id']}/close", json={}, headers={**ifr.officer, **etag}
        )
        assert stale.status_code == 412
        decided = (await ifr.get(case)).json()
        assert decided["state"] == "decided" and decided["version"] == case["version"] + 1


async def test_two_officers_who_both_read_the_version_one_decides_the_other_gets_412(
    stack: TestStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race itself, not one request after the other: both requests load the case at the same version
    and pass the If-Match check before either writes, so only the database's version guard can refuse
    the second. It must be a 412 with nothing of the loser's decision kept (no 500, no second decision)."""
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, _ = await ifr.listed()
        url = f"/api/v1/ifr/requests/{case['id']}/decide"
        body = {"outcome": "approved", "reasons": REASONS, "present": [m["member_id"] for m in MEMBERS]}
        etag = {"If-Match": f'W/"{case["version"]}"'}
        both_loaded = asyncio.Barrier(2)
        loaded_versions: list[int] = []
        load = actions_api.get_case

        async def load_then_wait(uow, request_id, principal):  # type: ignore[no-untyped-def]
            loaded = await load(uow, request_id, principal)
            loaded_versions.append(loaded.version)
            await asyncio.wait_for(both_loaded.wait(), timeout=10)
            return loaded

        monkeypatch.setattr(actions_api, "get_case", load_then_wait)
        officer_b = stack.auth("X24", "ifr_officer", sub="officer-2")
        results = await asyncio.gather(
            svc.client.post(url, json=body, headers={**ifr.officer, **etag}),
            svc.client.post(url, json={**body, "outcome": "declined"}, headers={**officer_b, **etag}),
        )
        monkeypatch.undo()
        assert loaded_versions == [case["version"], case["version"]]  # both passed If-Match on the same version
        assert sorted(r.status_code for r in results) == [200, 412], [r.text for r in results]
        lost = next(r for r in results if r.status_code == 412)
        assert lost.headers["content-type"].startswith("application/problem+json")
        won = next(r for r in results if r.status_code == 200).json()
        decided = (await ifr.get(case)).json()
        assert (decided["state"], decided["version"]) == ("decided", case["version"] + 1)
        assert decided["outcome"] == won["outcome"]
        outbox = svc.runtime.tables.outbox
        async with svc.runtime.sessions() as session:
            decisions = (
                await session.execute(
                    text("SELECT outcome FROM ifr_decisions WHERE request_id = :id"), {"id": uuid.UUID(case["id"])}
                )
            ).all()
            made = await session.scalar(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.message_key == case["id"], outbox.c.event_type == "ifr.decision.made")
            )
        assert [d.outcome for d in decisions] == [won["outcome"]] and made == 1
        history = (await svc.client.get(f"/api/v1/ifr/requests/{case['id']}/history", headers=ifr.officer)).json()
        assert [h["action"] for h in history].count("transition:decide") == 1


async def test_quorum_and_conflicts_are_checked_before_a_decision(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        panel = await ifr.panel()
        screened = await ifr.screening()
        case = await ifr.act(
            screened,
            "list-for-panel",
            {"panel_id": panel["id"], "conflicts": [{"member_id": "ph-a", "reason": "treats the patient"}]},
        )
        everyone = [m["member_id"] for m in MEMBERS]
        refused = await ifr.act(
            case, "decide", {"outcome": "approved", "reasons": REASONS, "present": everyone}, expect=422
        )
        assert refused["quorum_missing"] == [
            "public_health: 1 needed, 0 present and not conflicted",
            "voting members: 4 needed, 3 present and not conflicted",
        ]
        unknown = await ifr.act(
            case, "decide", {"outcome": "approved", "reasons": REASONS, "present": [*everyone, "x"]}, expect=422
        )
        assert unknown["errors"][0]["field"] == "present"
        assert (await ifr.get(case)).json()["state"] == "listed_for_panel"  # nothing changed


async def test_decision_records_who_was_present_and_keeps_letter_copies(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, panel = await ifr.decided("approved_with_conditions", conditions=["stop on progression"])
        assert case["state"] == "decided" and case["outcome"] == "approved_with_conditions"
        letters = (await svc.client.get(f"/api/v1/ifr/requests/{case['id']}/letters", headers=ifr.clinician)).json()
        assert [x["kind"] for x in letters] == ["acknowledgement", "decision"]
        # each copy says which packaged wording it was written from
        versions = {t.name: t.version for t in letter_templates().values()}
        assert [(x["template"], x["template_version"]) for x in letters] == [
            ("acknowledgement", versions["acknowledgement"]),
            ("decision", versions["decision"]),
        ]
        decision = letters[-1]
        assert REASONS["exceptionality"] in decision["body"] and "stop on progression" in decision["body"]
        assert decision["recipient"] == "sam.consultant@nhs.net"
        assert "9990000018" not in decision["subject"]
        history = (await svc.client.get(f"/api/v1/ifr/requests/{case['id']}/history", headers=ifr.officer)).json()
        decided = next(h for h in history if h["action"] == "transition:decide")
        assert decided["detail"]["present"] == sorted(m["member_id"] for m in MEMBERS)
        assert decided["detail"]["panel_id"] == panel["id"]


async def test_a_review_is_heard_by_a_different_panel(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, ifr_panel = await ifr.decided("declined")
        case = await ifr.act(
            case, "request-review", {"grounds": "the evidence was not considered"}, headers=ifr.clinician
        )
        assert case["state"] == "review"
        # an IFR panel cannot hear a review, and a review panel with a member of the deciding panel cannot either
        wrong_kind = await ifr.act(case, "list-for-panel", {"panel_id": ifr_panel["id"]}, expect=422)
        assert "review" in wrong_kind["detail"]
        overlapping = await ifr.panel("review", members=[*REVIEW_MEMBERS[:3], MEMBERS[1]])
        refused = await ifr.act(case, "list-for-panel", {"panel_id": overlapping["id"]}, expect=422)
        assert refused["errors"][0]["field"] == "panel_id" and MEMBERS[1]["member_id"] in refused["detail"]
        independent = await ifr.panel("review")
        listed = await ifr.act(case, "list-for-panel", {"panel_id": independent["id"]})
        assert listed["state"] == "listed_for_review"
        reviewers = [m["member_id"] for m in REVIEW_MEMBERS]
        found = await ifr.act(
            listed, "decide-review", {"outcome": "flawed", "reasons": "evidence missed", "present": reviewers}
        )
        assert (found["state"], found["review_outcome"]) == ("review_decided", "flawed")
        # back to an IFR panel, with a fresh panel-decision clock
        running = [c for c in found["clocks"] if c["status"] == "running"]
        assert [c["clock"] for c in running] == ["panel_decision"]


async def test_reconsideration_goes_back_to_the_same_panel(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, panel = await ifr.decided("declined")
        case = await ifr.act(case, "request-reconsideration", {"new_information": "new scan"}, headers=ifr.clinician)
        relisted = await ifr.act(case, "list-for-panel", {})
        assert relisted["current_panel_id"] == panel["id"]
        again = await ifr.act(
            relisted,
            "decide",
            {"outcome": "approved", "reasons": REASONS, "present": [m["member_id"] for m in MEMBERS]},
        )
        assert again["outcome"] == "approved"
        panel_view = (await svc.client.get(f"/api/v1/ifr/panels/{panel['id']}", headers=ifr.officer)).json()
        assert [a["purpose"] for a in panel_view["agenda"]] == ["decision", "reconsideration"]


async def test_information_round_trip_pauses_the_clocks(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        returned = await ifr.act(await ifr.screening(), "request-information", {"information_needed": "the scan"})
        statuses = {c["clock"]: c["status"] for c in returned["clocks"]}
        assert statuses == {
            "acknowledge": "met",
            "triage": "met",
            "screening_outcome": "paused",
            "panel_decision": "paused",
        }
        assert returned["next_due"] is None and returned["overdue"] is False
        letters = (await svc.client.get(f"/api/v1/ifr/requests/{returned['id']}/letters", headers=ifr.clinician)).json()
        assert letters[-1]["kind"] == "request_for_information" and "the scan" in letters[-1]["body"]
        changed = await ifr.act(
            returned,
            "provide-information",
            {"information": "scan attached", "application": {"clinical": {"stage": "stage 3"}}},
            headers=ifr.clinician,
        )
        assert changed["state"] == "resubmitted" and changed["application"]["clinical"]["stage"] == "stage 3"
        assert {c["clock"]: c["status"] for c in changed["clocks"]}["screening_outcome"] == "running"
        invalid = await ifr.act(changed, "request-information", {"information_needed": "x"})
        bad = await ifr.act(
            invalid,
            "provide-information",
            {"information": "x", "application": {"patient": {"nhs_number": "9990000019"}}},
            headers=ifr.clinician,
            expect=422,
        )
        assert bad["errors"][0]["field"] == "application.patient.nhs_number"
