"""The wiring proof: a CDF approval travels cdf -> bus -> contract (commitment) and notification (mail)."""

import json
import uuid

from samples import APPLICATION, prepare_cdf

from embedded_stack.event_checks import read_topic
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack, eventually


async def test_approval_becomes_commitment_and_mail(stack: TestStack) -> None:
    clinician = stack.auth("RRV", "clinician")
    finance = stack.auth("X24", "contract_manager")
    async with stack.service("cdf") as cdf, stack.service("contract") as contract, stack.service("notification") as n:
        await prepare_cdf(cdf.client, stack)
        correlation = f"corr-{uuid.uuid4()}"
        created = await cdf.client.post(
            "/api/v1/cdf/applications", json=APPLICATION, headers={**clinician, "X-Correlation-ID": correlation}
        )
        assert created.status_code == 201, created.text
        reference = created.json()["reference"]

        async def commitment() -> list:
            response = await contract.client.get(
                "/api/v1/commitments", params={"source_reference": reference}, headers=finance
            )
            return response.json()

        commitments = await eventually(commitment)
        assert [(c["provider_ods"], c["amount"], c["financial_year"]) for c in commitments] == [
            ("RRV", "42080.00", "2026/27")  # 8 expected cycles x 5,260.00
        ]

        def mail_for_reference() -> list:
            return [m for m in read_messages(stack.layout.mail) if reference in m["Subject"]]

        # routing.toml: the approval goes to the requesting clinician and to the trust's CDF mailbox. The
        # notification-service group may first have to mail the approvals of tests that ran before it with no
        # notification-service (services/cdf-service alone: thousands of mails at SEND_RATE_PER_S 50), in order
        mails = await eventually(lambda: len(mail_for_reference()) >= 2 and mail_for_reference(), within=180)
        assert sorted(m["To"] for m in mails) == ["a.oncologist@nhs.net", "rrv.cancerdrugsfund@nhs.net"]
        assert len({m["Message-ID"] for m in mails}) == 2
        for mail in mails:
            assert "9434765919" not in mail.as_string() and "943 476 5919" not in mail["Subject"]
            assert mail["X-Relay-Auth-User"] == "casework-app"  # came through STARTTLS + AUTH

        async def listed() -> list:
            response = await n.client.get(
                "/api/v1/notifications",
                params={"case_reference": reference},
                headers=stack.auth("X24", "cdf_manager"),
            )
            items = response.json()["items"]
            return items if all(x["status"] == "sent" for x in items) else []

        assert sorted(x["recipient_role"] for x in await eventually(listed)) == [
            "requesting_clinician",
            "trust_cdf_mailbox",
        ]

        # the correlation id travelled HTTP -> cdf event -> contract's consequent event
        approved = [
            json.loads(r.value)
            for r in await read_topic(stack.bootstrap_servers, "cdf.events", idle_s=0.3)
            if json.loads(r.value)["correlation_id"] == correlation
        ]
        recorded = [
            json.loads(r.value)
            for r in await read_topic(stack.bootstrap_servers, "contract.events", idle_s=0.3)
            if json.loads(r.value)["correlation_id"] == correlation
        ]
        assert [e["type"] for e in approved] == ["cdf.application.approved"]
        assert [e["type"] for e in recorded] == ["contract.commitment.recorded"]
        assert recorded[0]["causation_id"] == approved[0]["id"]
        assert "patient_ref" in approved[0]["data"] and "nhs_number" not in approved[0]["data"]
