"""What a mailbox's policy makes of the sender checks' results (pure)."""

from __future__ import annotations

import pytest

from notification_service.domain.sender_auth import (
    SenderOutcome,
    SenderPolicy,
    SenderVerdict,
    sender_decision,
    verdict_of,
)


def verdict(spf: str, dkim: str, dmarc: str) -> SenderVerdict:
    return SenderVerdict(spf=spf, dkim=dkim, dmarc=dmarc, header="")


@pytest.mark.parametrize(
    ("spf", "dkim", "dmarc", "outcome"),
    [
        ("pass", "none", "pass", SenderOutcome.ACCEPT),
        ("fail", "pass", "pass", SenderOutcome.ACCEPT),  # signed, aligned: the server may be anyone's
        ("pass", "none", "none", SenderOutcome.ACCEPT),  # no DMARC record: SPF is enough
        ("fail", "none", "none", SenderOutcome.REFUSE),
        ("fail", "none", "fail", SenderOutcome.REFUSE),
        ("pass", "fail", "fail", SenderOutcome.REFUSE),  # SPF passes for another domain than From's
        ("temperror", "none", "temperror", SenderOutcome.RETRY),
        ("fail", "fail", "permerror", SenderOutcome.REFUSE),
    ],
)
def test_an_enforcing_mailbox(spf: str, dkim: str, dmarc: str, outcome: SenderOutcome) -> None:
    decided = sender_decision(verdict(spf, dkim, dmarc), SenderPolicy.ENFORCE)
    assert decided.outcome is outcome
    if outcome is SenderOutcome.REFUSE:
        assert decided.reason and f"dmarc={dmarc}" in decided.reason and f"spf={spf}" in decided.reason


@pytest.mark.parametrize("policy", [SenderPolicy.RECORD, SenderPolicy.OFF])
def test_recording_and_unchecked_mailboxes_never_refuse(policy: SenderPolicy) -> None:
    assert sender_decision(verdict("fail", "fail", "fail"), policy).outcome is SenderOutcome.ACCEPT
    assert sender_decision(None, policy).outcome is SenderOutcome.ACCEPT


def test_results_are_read_from_the_header_and_an_unsigned_message_has_no_dkim_failure() -> None:
    header = (
        'Authentication-Results: gw; spf=fail reason="SPF fail - not authorized" smtp.mailfrom=a@nhs.net; '
        "dkim=fail; dmarc=fail (Used From Domain Record) header.from=nhs.net policy.dmarc=reject"
    )
    assert (verdict_of(header, signed=True).spf, verdict_of(header, signed=True).dkim) == ("fail", "fail")
    unsigned = verdict_of(header, signed=False)
    assert (unsigned.dkim, unsigned.dmarc, unsigned.header) == ("none", "fail", header)
    assert unsigned.as_record()["authentication_results"] == header
