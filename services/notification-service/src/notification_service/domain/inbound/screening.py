"""What the gateway does with a parsed message: accept it, refuse it with a reason, or ignore it (no
reply, so no mail loops). Only accredited secure domains may send, in the header and the envelope."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from notification_service.domain.inbound.message import InboundMail
from notification_service.domain.secure_domains import SecureDomains


def sender_allowed(sender: str, allowed: SecureDomains) -> bool:
    """Exact allowed domain or a subdomain of one; look-alikes (nhs.net.evil.com) are refused."""
    return allowed.covers(sender)


class GatewayOutcome(StrEnum):
    accept = "accept"  # store, publish mail.received, acknowledge
    refuse = "refuse"  # no content stored, nothing published; reply with the reason (the refusal is recorded)
    ignore = "ignore"  # automatic mail or no usable sender: no reply, so no mail loops


@dataclass(frozen=True)
class GatewayDecision:
    outcome: GatewayOutcome
    reason: str | None = None


NOT_SECURE = "the sender's domain is not an accredited secure email domain"
ENVELOPE_NOT_SECURE = "the message was not sent through an accredited secure email domain"


def screen(mail: InboundMail, allowed: SecureDomains, envelope_sender: str | None = None) -> GatewayDecision:
    """Decide what happens to a parsed message. The envelope sender (MAIL FROM) is checked too."""
    if mail.automatic or not mail.sender:
        return GatewayDecision(GatewayOutcome.ignore, "automatic message or unreadable sender")
    if envelope_sender == "":  # a bounce ("MAIL FROM:<>")
        return GatewayDecision(GatewayOutcome.ignore, "delivery status notification")
    if not sender_allowed(mail.sender, allowed):
        return GatewayDecision(GatewayOutcome.refuse, NOT_SECURE)
    if envelope_sender is not None and not sender_allowed(envelope_sender, allowed):
        return GatewayDecision(GatewayOutcome.refuse, ENVELOPE_NOT_SECURE)
    return GatewayDecision(GatewayOutcome.accept)
