"""Is the sender who the From line says? SPF, DKIM and DMARC results, and what a mailbox does with them.

Anyone who reaches the gateway can write `From: consultant@nhs.net`. A receiving mail system checks
the claim: SPF (is the connecting server one the envelope domain names?), DKIM (is the message
signed by a key the signing domain publishes, and unchanged?) and DMARC (does either pass *for the
From domain*, aligned, and what does that domain ask receivers to do when neither does?).

Each mailbox has a policy:
- `enforce`: DMARC must pass; a domain with no DMARC record must at least pass SPF or DKIM. Failing
  mail is refused at the SMTP level (5.7.26, as large receivers answer), with no reply mail: a
  reply would go to the forged address (backscatter). A DNS failure with no pass answers 451, so the
  sending server tries again rather than the mail being lost.
- `record`: checked and recorded on the inbound record, never refused (a mailbox being brought on).
- `off`: not checked (a mailbox fed only by a relay that has checked already).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import authres


class SenderPolicy(StrEnum):
    ENFORCE = "enforce"
    RECORD = "record"
    OFF = "off"


class SenderOutcome(StrEnum):
    ACCEPT = "accept"
    REFUSE = "refuse"  # 550: not who it says
    RETRY = "retry"  # 451: could not tell now (DNS), try again later


@dataclass(frozen=True)
class SenderVerdict:
    """The three results as a receiving server records them (RFC 8601 result words)."""

    spf: str
    dkim: str
    dmarc: str
    header: str  # the Authentication-Results header value, kept on the inbound record

    def as_record(self) -> dict[str, str]:
        return {"spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc, "authentication_results": self.header}


@dataclass(frozen=True)
class SenderDecision:
    outcome: SenderOutcome
    reason: str | None = None


PASS, NONE = "pass", "none"
TEMPORARY = frozenset({"temperror"})


def verdict_of(header: str, signed: bool) -> SenderVerdict:
    """The results in an `Authentication-Results:` header. An unsigned message's DKIM result is `none`
    (RFC 8601), whatever the checker wrote: only a signature that fails to verify is a `fail`."""
    parsed = authres.parse(header)
    found = {str(r.method).lower(): str(r.result).lower() for r in parsed.results}
    return SenderVerdict(
        spf=found.get("spf", NONE),
        dkim=found.get("dkim", NONE) if signed else NONE,
        dmarc=found.get("dmarc", NONE),
        header=header,
    )


def sender_decision(verdict: SenderVerdict | None, policy: SenderPolicy) -> SenderDecision:
    if policy is not SenderPolicy.ENFORCE or verdict is None:
        return SenderDecision(SenderOutcome.ACCEPT)
    if verdict.dmarc == PASS:
        return SenderDecision(SenderOutcome.ACCEPT)
    if verdict.dmarc == NONE and PASS in (verdict.spf, verdict.dkim):
        return SenderDecision(SenderOutcome.ACCEPT)  # the domain publishes no DMARC policy
    if TEMPORARY & {verdict.spf, verdict.dkim, verdict.dmarc}:
        return SenderDecision(SenderOutcome.RETRY, "the sender's domain could not be checked just now")
    failed = ", ".join(f"{name}={value}" for name, value in (("spf", verdict.spf), ("dkim", verdict.dkim)))
    return SenderDecision(
        SenderOutcome.REFUSE, f"the sender could not be verified for the From domain (dmarc={verdict.dmarc}; {failed})"
    )
