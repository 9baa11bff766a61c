"""A raw received message as the gateway sees it: sender, mailbox, date, body text, attachments (named
safely, typed by content) and the application it carries, if any."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from casework.file_types import EXTENSIONS, LABELS, content_type_of, name_matches
from notification_service.domain.inbound.form import (
    ApplicationSource,
    ExtractedApplication,
    FieldProblem,
    parse_form,
    parse_json_application,
    validate_application,
)
from notification_service.domain.inbound.html_text import html_to_text
from notification_service.domain.secure_domains import address_or_none
from notification_service.domain.templates import redact_identifiers

_NAMESPACE = uuid.UUID("6f1d3a52-4c1e-5b8e-9a57-0d2b7c9e4f10")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes = field(repr=False)

    def ref(self) -> dict[str, Any]:
        """The `AttachmentRef` shape of the `mail.received` event."""
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size, "sha256": self.sha256}

    @property
    def is_json(self) -> bool:
        return self.content_type == "application/json" or self.filename.lower().endswith(".json")

    def refusal(self) -> str | None:
        """Why the attachment is not kept, or None: only PDF, DOCX and JSON, recognised by their bytes,
        under a name that ends as the type does (a name without an extension, if declared as that type)."""
        kind = content_type_of(self.content)
        if kind is None:
            return f"{self.filename}: not kept: only PDF, Word (DOCX) and JSON files are accepted"
        if name_matches(self.filename, kind):
            return None
        if "." not in self.filename and self.content_type == kind:
            return None
        return f"{self.filename}: not kept: a {LABELS[kind]} file must be named *{EXTENSIONS[kind]}"


@dataclass(frozen=True)
class InboundMail:
    mailbox: str
    sender: str  # the From mailbox, '' when unreadable
    subject: str = field(repr=False)  # as sent: may hold identifiers, see `safe_subject`
    message_id: str | None
    body_text: str = field(repr=False)
    attachments: tuple[Attachment, ...]  # the ones kept
    application: ExtractedApplication | None
    sha256: str  # of the whole raw message, as received
    refused_attachments: tuple[str, ...] = ()  # "name: not kept: why", for each attachment not kept
    references: tuple[str, ...] = ()
    automatic: bool = False  # an auto-reply, bounce or list mail: never answered

    def problem_lines(self) -> list[str]:
        """The application's problems, then the attachments not kept: what the record and the event list."""
        return [*(self.application.problem_lines() if self.application else []), *self.refused_attachments]

    @property
    def safe_subject(self) -> str:
        """The subject with NHS-number-like numbers, dates and the application's identifiers removed."""
        fields = self.application.fields if self.application else {}
        return redact_identifiers(self.subject, fields)


def checksum(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def inbound_id_for(sha256: str, mailbox: str) -> uuid.UUID:
    """Derived from the checksum and the mailbox, so the same message delivered twice to a mailbox is
    stored and published once, while one message sent to two of our mailboxes reaches both."""
    return uuid.uuid5(_NAMESPACE, f"{mailbox.lower()}|{sha256}")


def parse_message(raw: bytes, *, envelope_recipient: str | None = None) -> InboundMail:
    """Parse RFC 5322 bytes; `envelope_recipient` (RCPT TO) names the mailbox better than `To:`."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = _body_text(message)
    found = list(_attachments(message))
    attachments = tuple(a for a in found if a.refusal() is None)
    refused = tuple(reason for a in found if (reason := a.refusal()) is not None)
    return InboundMail(
        mailbox=_mailbox(message, envelope_recipient),
        sender=_sender(message),
        subject=" ".join(str(message.get("Subject", "")).split()),
        message_id=_header(message, "Message-ID"),
        body_text=body,
        attachments=attachments,
        # every JSON attachment is read, a broken one too: its problem is the application's
        application=extract_application(body, found, _sent_on(message)),
        sha256=checksum(raw),
        refused_attachments=refused,
        references=tuple((_header(message, "References") or "").split()),
        automatic=_is_automatic(message),
    )


def extract_application(
    body_text: str, attachments: Sequence[Attachment], today: date | None = None
) -> ExtractedApplication | None:
    """A JSON attachment wins over a body form (it is what provider systems generate)."""
    for attachment in attachments:
        if attachment.is_json:
            parsed = parse_json_application(attachment.content)
            if isinstance(parsed, str):
                problem = FieldProblem(f"attachment {attachment.filename}", parsed)
                return ExtractedApplication(ApplicationSource.json_attachment, {}, (problem,))
            return validate_application(parsed, ApplicationSource.json_attachment, today)
    form = parse_form(body_text)
    return validate_application(form, ApplicationSource.body_form, today) if form else None


def _header(message: EmailMessage, name: str) -> str | None:
    value = message.get(name)
    return " ".join(str(value).split()) if value else None


def _sender(message: EmailMessage) -> str:
    senders = getaddresses([str(v) for v in message.get_all("From", [])])
    # More than one From address cannot be attributed to one sender.
    if len(senders) != 1:
        return ""
    return address_or_none(senders[0][1]) or ""


def _mailbox(message: EmailMessage, envelope_recipient: str | None) -> str:
    candidates = [envelope_recipient] if envelope_recipient else []
    candidates += [a for _, a in getaddresses([str(v) for v in message.get_all("To", [])])]
    for candidate in candidates:
        if address := address_or_none(candidate):
            return address
    return ""


def _sent_on(message: EmailMessage) -> date | None:
    try:
        return parsedate_to_datetime(str(message["Date"])).date() if message["Date"] else None
    except (TypeError, ValueError):
        return None


def _is_automatic(message: EmailMessage) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return auto != "no" or precedence in {"bulk", "junk", "list"} or "List-Id" in message


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _text_content(part)
    return html_to_text(content) if part.get_content_subtype() == "html" else content


def _text_content(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _attachments(message: EmailMessage) -> Iterable[Attachment]:
    body = message.get_body(preferencelist=("plain", "html"))
    for index, part in enumerate(message.walk()):
        if part.is_multipart() or part is body or part is message:
            continue
        if part.get_content_disposition() is None and part.get_filename() is None:
            continue  # an alternative body part, not an attachment
        yield _attachment(part, index)


def _attachment(part: Any, index: int) -> Attachment:
    content = part.get_payload(decode=True)
    if content is None:  # message/rfc822 and other structured parts
        content = part.as_bytes()
    return Attachment(
        filename=_safe_filename(part.get_filename(), index),
        content_type=part.get_content_type(),
        size=len(content),
        sha256=checksum(content),
        content=content,
    )


def _safe_filename(name: str | None, index: int) -> str:
    # Keep only the last path component: a name like "../../x" must not choose where it is stored.
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    return base or f"attachment-{index}"
