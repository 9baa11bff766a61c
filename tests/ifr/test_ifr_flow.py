"""The IFR flow across services, over HTTP against the embedded stack:
submit -> acknowledge -> screen -> list for panel -> approve; the decision mail reaches the dev relay
and contract-service holds the funded commitment."""

import asyncio
import json

from ifr_http import MEMBERS, REASONS, Ifr

from casework.financial_year import financial_year_of
from embedded_stack.event_checks import read_topic
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack, eventually
from ifr_service.use_cases.workflow import today


async def test_approval_becomes_decision_mail_and_funded_commitment(stack: TestStack) -> None:
    finance = stack.auth("X24", "contract_manager")
    async with stack.service("ifr") as svc, stack.service("contract") as contract, stack.service("notification"):
        ifr = Ifr(svc.client, stack)
        case = await ifr.submitted()
        reference = case["reference"]
        case = await ifr.act(case, "acknowledge")
        case = await ifr.act(case, "screen")
        panel = await ifr.panel()
        case = await ifr.act(case, "list-for-panel", {"panel_id": panel["id"]})
        present = [m["member_id"] for m in MEMBERS]
        case = await ifr.act(case, "decide", {"outcome": "approved", "reasons": REASONS, "present": present})
        assert case["state"] == "decided"

        events = [
            json.loads(r.value)
            for r in await read_topic(stack.bootstrap_servers, "ifr.events", idle_s=0.3)
            if json.loads(r.value)["subject"] == case["id"]
            and "deadline" not in json.loads(r.value)["type"]  # the sweep may warn about the new case's clocks
        ]
        assert [e["type"] for e in events] == [
            "ifr.request.submitted",
            "ifr.request.acknowledged",
            "ifr.request.listed_for_panel",
            "ifr.decision.made",
        ]
        decision = events[-1]["data"]
        assert decision["approved_cost"] == "15000.00" and decision["patient_ref"]
        assert all("9990000018" not in json.dumps(e) for e in events)

        def decision_mails() -> list:
            """The decision's mails once the consultant's is among them: the trust pharmacy's copy can
            arrive first, and a wait for "any mail" then read that one alone."""
            mails = [
                m
                for m in read_messages(stack.layout.mail)
                if reference in m["Subject"] and "decision" in m["Subject"].lower()
            ]
            return mails if any(m["To"] == "sam.consultant@nhs.net" for m in mails) else []

        async def commitments() -> list:
            response = await contract.client.get(
                "/api/v1/commitments", params={"source_reference": reference}, headers=finance
            )
            return response.json() if response.status_code == 200 else []

        mails, funded = await asyncio.gather(eventually(decision_mails), eventually(commitments))
        assert "sam.consultant@nhs.net" in {m["To"] for m in mails}
        for mail in mails:
            assert "9990000018" not in mail.as_string() and "Alex Example" not in mail.as_string()
        assert [(c["provider_ods"], c["amount"], c["financial_year"]) for c in funded] == [
            ("RRV", "15000.00", financial_year_of(today()).financial_year)
        ]
