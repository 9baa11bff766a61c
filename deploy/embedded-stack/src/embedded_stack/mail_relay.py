"""A development SMTP relay that behaves like the nhs.net relay: STARTTLS required, then AUTH.

Whatever it accepts is written to a folder as `.eml` files (one per recipient delivery), so a
developer or a test can read exactly what was sent. For reliability tests it can be told to refuse
everything (or one recipient's mail) with a given SMTP reply (e.g. 554) or to stop listening altogether.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import threading
import uuid
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def ensure_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1, made once and kept."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "relay-cert.pem", folder / "relay-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


class MaildirHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.refuse_with: tuple[int, str] | None = None
        # Replies for single recipients (lower-case address): one mailbox refused while the rest are delivered.
        self.refuse_for: dict[str, tuple[int, str]] = {}
        # (Message-ID, code) of every message refused while `refuse_with` was set: tests count retries.
        self.refused: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        refusal = self.refuse_with or next(
            (self.refuse_for[r.lower()] for r in envelope.rcpt_tos if r.lower() in self.refuse_for), None
        )
        if refusal is not None:
            code, text = refusal
            message_id = str(message_from_bytes(raw, policy=default_policy).get("Message-ID", ""))
            with self._lock:
                self.refused.append((message_id, code))
            return f"{code} {text}"
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                trace = f"X-Relay-Rcpt-To: {rcpt}\r\nX-Relay-Auth-User: {login}\r\n"
                # written aside and renamed: a reader globbing *.eml never sees a half-written message
                # (an empty file read as a mail without a Subject failed test_contract_flows once)
                kept = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
                partial = kept.with_suffix(".partial")
                partial.write_bytes(trace.encode() + raw)
                os.replace(partial, kept)
        return "250 Message accepted for delivery"


class DevMailRelay:
    def __init__(
        self, folder: Path, cert_dir: Path, port: int, username: str, password: str, host: str = "127.0.0.1"
    ) -> None:
        self.folder, self.host, self.port = folder, host, port
        self.username, self.password = username, password
        self.cert_path, key_path = ensure_certificate(cert_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, key_path)
        self._tls_context = context
        self.handler = MaildirHandler(folder)
        self._controller: Controller | None = None
        # Logins refused (wrong user or password) since start: a test waits for a sender's next probes.
        self.logins_refused = 0

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        if not ok:
            self.logins_refused += 1  # one thread (the controller's loop) writes it
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> None:
        # A stopped Controller has closed its event loop: every start gets a new one (outage tests).
        self._controller = Controller(
            self.handler,
            hostname=self.host,
            port=self.port,
            tls_context=self._tls_context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_required=True,
            ready_timeout=10,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def refuse(self, code: int, text: str) -> None:
        self.handler.refuse_with = (code, text)

    def refuse_recipient(self, address: str, code: int, text: str) -> None:
        """Refuse mail to this one address with this SMTP reply; other recipients are delivered."""
        self.handler.refuse_for[address.lower()] = (code, text)

    def accept(self, address: str | None = None) -> None:
        """Deliver again: to everyone, or (given an address) to that recipient refused on its own."""
        if address is None:
            self.handler.refuse_with = None
            self.handler.refuse_for.clear()
        else:
            self.handler.refuse_for.pop(address.lower(), None)


def read_messages(folder: Path) -> list:  # list[email.message.EmailMessage]
    """Every message the relay kept, oldest first."""
    return [message_from_bytes(path.read_bytes(), policy=default_policy) for path in sorted(folder.glob("*.eml"))]


def delivery_counts(folder: Path) -> Counter[str]:
    """Deliveries per Message-ID, reading only each .eml's header block (fast for thousands of files)."""
    counts: Counter[str] = Counter()
    for path in folder.glob("*.eml"):
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0]
        counts[str(message_from_bytes(head, policy=default_policy).get("Message-ID", ""))] += 1
    return counts
