"""The dev world's DNS, for the inbound gateway's sender checks (SPF, DKIM, DMARC).

In the dev world every mail domain sends from this machine and signs with the stack's dev DKIM key,
and asks receivers to reject what fails: for any domain D the zone answers
- `D` TXT `v=spf1 ip4:127.0.0.1 -all` (only this machine's loopback address may send as D),
- `dev._domainkey.D` TXT the dev key's public half,
- `_dmarc.D` TXT `v=DMARC1; p=reject`.
So mail sent from 127.0.0.1 passes SPF, mail signed with the dev key passes DKIM, and mail from another
address (tests send from 127.0.0.2) unsigned, or signed and then changed, fails DMARC: both outcomes
can be tested against the real libraries over real DNS. A deployment leaves INBOUND_DNS_SERVER unset
and the gateway asks the system's resolver.
"""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dnslib import QTYPE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

DKIM_SELECTOR = "dev"
SENDING_ADDRESS = "127.0.0.1"
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]


def ensure_dkim_key(folder: Path) -> bytes:
    """The dev senders' DKIM private key (PEM), made once per stack folder."""
    path = folder / "dkim-dev.pem"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path.read_bytes()


def public_key_record(private_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def dkim_signed(message: bytes, domain: str, private_pem: bytes) -> bytes:
    """The message with a DKIM-Signature by the dev key for `domain`, as the dev senders send it."""
    signature = dkim.sign(message, DKIM_SELECTOR.encode(), domain.encode(), private_pem, include_headers=SIGNED_HEADERS)
    return signature + message


class DevZone(BaseResolver):
    def __init__(self, dkim_record: str) -> None:
        self.dkim_record = dkim_record

    def texts(self, name: str) -> list[str]:
        if name.startswith("_dmarc."):
            return ["v=DMARC1; p=reject"]
        if name.startswith(f"{DKIM_SELECTOR}._domainkey."):
            return [self.dkim_record]
        if "._domainkey." in name:
            return []  # another selector: no key
        return [f"v=spf1 ip4:{SENDING_ADDRESS} -all"]

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        if request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for text in self.texts(str(request.q.qname).rstrip(".").lower()):
                chunks = [text[i : i + 255] for i in range(0, len(text), 255)]  # a TXT string holds 255 bytes
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        return reply


class DevDns:
    """The zone above on 127.0.0.1 (UDP), in a thread of the process that runs the stack."""

    def __init__(self, folder: Path, port: int) -> None:
        self.port = port
        self.private_key = ensure_dkim_key(folder)
        self.server = DNSServer(
            DevZone(public_key_record(self.private_key)),
            port=port,
            address="127.0.0.1",
            logger=DNSLogger("-request,-reply,-truncated"),  # quiet: no line per lookup
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server.start_thread()

    def stop(self) -> None:
        self.server.stop()
