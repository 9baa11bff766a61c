"""Checking who sent a received message (SPF, DKIM, DMARC) with the maintained libraries, over DNS.

authheaders runs the three checks (dkimpy for DKIM, pyspf for SPF, its own DMARC) and writes the
Authentication-Results header a receiving server records; `domain.sender_auth` reads it and decides.
The checks block on DNS, so they run in a worker thread, off the loop that serves the API.
"""

from __future__ import annotations

import asyncio
from email.parser import BytesHeaderParser

import dns.exception
import dns.resolver
from authheaders import authenticate_message

from casework.logs import get_logger
from notification_service.domain.sender_auth import SenderVerdict, verdict_of

log = get_logger(__name__)
DNS_LIFETIME_S = 3.0  # per lookup through our resolver
# The whole check: pyspf sets its own 20 s lifetime per lookup, so the bound is here. Past it the
# sender is told 451 (try later) well inside the minutes a sending server waits for DATA's answer.
CHECK_TIMEOUT_S = 6.0


def use_resolver(server: str | None) -> None:
    """Send the checks' lookups to `host:port` (the dev stack's own zone); None keeps the system's.
    pyspf, dkimpy and authheaders all resolve through dnspython's default resolver."""
    resolver = dns.resolver.Resolver(configure=server is None)
    if server:
        host, _, port = server.rpartition(":")
        resolver.nameservers, resolver.port = [host], int(port)
    resolver.lifetime = resolver.timeout = DNS_LIFETIME_S
    dns.resolver.default_resolver = resolver


async def check_sender(raw: bytes, peer_ip: str, helo: str | None, mail_from: str, authserv_id: str) -> SenderVerdict:
    signed = BytesHeaderParser().parsebytes(raw).get("DKIM-Signature") is not None
    checking = asyncio.to_thread(_check, raw, peer_ip, helo, mail_from, authserv_id)
    try:
        header = await asyncio.wait_for(checking, CHECK_TIMEOUT_S)
    except TimeoutError:  # the worker thread ends at its own lookups' timeouts; its answer is not awaited
        log.warning("sender checks took too long", limit_s=CHECK_TIMEOUT_S)
        header = _unchecked(authserv_id, "temperror")
    return verdict_of(header, signed)


def _check(raw: bytes, peer_ip: str, helo: str | None, mail_from: str, authserv_id: str) -> str:
    try:
        return str(
            authenticate_message(
                raw, authserv_id, spf=True, dkim=True, dmarc=True, ip=peer_ip, mail_from=mail_from, helo=helo or ""
            )
        )
    except dns.exception.DNSException as exc:  # no answer in time: the sender may try again (451)
        log.warning("sender checks could not ask DNS", error=repr(exc))
        return _unchecked(authserv_id, "temperror")
    except Exception as exc:  # a message the checker cannot read is not verified; say so, keep serving
        log.warning("sender checks failed", error=repr(exc))
        return _unchecked(authserv_id, "permerror")


def _unchecked(authserv_id: str, result: str) -> str:
    return f"Authentication-Results: {authserv_id}; spf={result}; dkim={result}; dmarc={result}"
