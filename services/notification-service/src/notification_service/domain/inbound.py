"""Inbound mail gateway rules: who may send, what a raw message contains, and the replies.

Applications arrive by mail as a JSON attachment or as a `Label: value` form in the body (the field
list is `FORM_FIELDS`, documented in the service README). Problems are reported per field and never
quote the value, because they travel in replies and on the bus.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from casework.file_types import EXTENSIONS, LABELS, content_type_of, name_matches
from casework.identifiers import (
    is_valid_icd10_code,
    is_valid_nhs_number,
    is_valid_ods_code,
    is_valid_opcs4_code,
    is_valid_snomed_id,
    normalise_nhs_number,
)
from notification_service.domain.message import MailIdentity, build_message
from notification_service.domain.secure_domains import InvalidAddress, SecureDomains, address_of
from notification_service.domain.templates import RenderedMail, TemplateSet, redact_identifiers

# Below this many recognised labels a body is ordinary correspondence, not a form.
MIN_FORM_LABELS = 3
_NAMESPACE = uuid.UUID("6f1d3a52-4c1e-5b8e-9a57-0d2b7c9e4f10")

# ---------------------------------------------------------------------------------------------------
# Sender rules


def sender_allowed(sender: str, allowed: SecureDomains) -> bool:
    """Exact allowed domain or a subdomain of one; look-alikes (nhs.net.evil.com) are refused."""
    return allowed.covers(sender)


# ---------------------------------------------------------------------------------------------------
# Application form


Check = Callable[[str], "str | None"]  # returns the normalised value, or None when invalid


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    required: bool = False
    check: Check | None = None
    problem: str = ""
    aliases: tuple[str, ...] = ()


def _nhs_number(value: str) -> str | None:
    digits = normalise_nhs_number(value)
    return digits if is_valid_nhs_number(digits) else None


def _upper(predicate: Callable[[str], bool]) -> Check:
    def check(value: str) -> str | None:
        return value.upper() if predicate(value.upper()) else None

    return check


def _plain(predicate: Callable[[str], bool]) -> Check:
    return lambda value: value if predicate(value) else None


def _one_of(*choices: str) -> Check:
    return lambda value: value.lower() if value.lower() in choices else None


def _yes_no(value: str) -> str | None:
    return {"yes": "yes", "y": "yes", "true": "yes", "no": "no", "n": "no", "false": "no"}.get(value.lower())


def _amount(value: str) -> str | None:
    try:
        amount = Decimal(value.replace("£", "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return str(amount) if amount >= 0 else None


def _address(value: str) -> str | None:
    try:
        return address_of(value)
    except InvalidAddress:
        return None


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y")


def parse_day(value: str) -> date | None:
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), form).date()  # noqa: DTZ007 - a calendar date, no instant
        except ValueError:
            continue
    return None


def _day(value: str) -> str | None:
    day = parse_day(value)
    return day.isoformat() if day else None


F = FormField
FORM_FIELDS: tuple[FormField, ...] = (
    # patient
    F("nhs_number", "NHS number", True, _nhs_number, "not a valid NHS number", ("NHS no",)),
    F("patient_name", "Patient name", True),
    F("date_of_birth", "Date of birth", True, _day, "not a date (use YYYY-MM-DD or DD/MM/YYYY)", ("DOB",)),
    F("sex", "Sex"),
    F("gp_practice", "GP practice"),
    # requesting clinician
    F("clinician_name", "Clinician name", True),
    F("clinician_role", "Clinician role"),
    F("registration_number", "Registration number", True, aliases=("GMC number", "GMC")),
    F("clinician_email", "Clinician email", False, _address, "not an email address"),
    F("trust_ods_code", "Trust ODS code", True, _upper(is_valid_ods_code), "not an ODS code", ("ODS code",)),
    # treatment
    F("treatment_name", "Treatment name", True, aliases=("Treatment",)),
    F("dmd_code", "dm+d code", False, _plain(is_valid_snomed_id), "not a dm+d (SNOMED CT) id"),
    F("opcs4_code", "OPCS-4 code", False, _upper(is_valid_opcs4_code), "not an OPCS-4 code"),
    F("dose", "Dose"),
    F("route", "Route"),
    F("frequency", "Frequency"),
    F("planned_duration", "Planned duration"),
    F("cost_per_course", "Cost per course", False, _amount, "not an amount"),
    F("total_cost", "Total cost", False, _amount, "not an amount"),
    F("setting", "Setting"),
    # clinical
    F("diagnosis", "Diagnosis", True),
    F("diagnosis_icd10", "Diagnosis ICD-10", True, _upper(is_valid_icd10_code), "not an ICD-10 code", ("ICD-10",)),
    F("stage", "Stage"),
    F("relevant_history", "Relevant history"),
    F("current_condition", "Current condition"),
    F("previous_treatments", "Previous treatments"),
    F("standard_options_unsuitable", "Why standard options are unsuitable"),
    # exceptionality, outcomes, evidence
    F("case_for_exceptionality", "Case for exceptionality", True, aliases=("Exceptionality",)),
    F("expected_benefit", "Expected additional benefit"),
    F("outcome_measures", "Outcomes and measurement"),
    F("start_criteria", "Start criteria"),
    F("stop_criteria", "Stop criteria"),
    F("evidence", "Evidence"),
    F("other_patients_similar", "Other patients in the same situation", False, _yes_no, "answer yes or no"),
    F("urgency", "Urgency", True, _one_of("routine", "urgent"), "answer routine or urgent"),
    F("urgency_reason", "Urgency reason"),
    F("part_of_trial", "Part of a trial", False, _yes_no, "answer yes or no"),
    F("patient_consent", "Patient consent to share information", True, _yes_no, "answer yes or no", ("Consent",)),
    F("chief_pharmacist_support", "Chief pharmacist support", False, _yes_no, "answer yes or no"),
)
del F


def _label_key(label: str) -> str:
    # "Diagnosis ICD-10", "diagnosis_icd10" and "DIAGNOSIS ICD10" all become "diagnosisicd10".
    return re.sub(r"[^a-z0-9]", "", label.lower())


_BY_LABEL: dict[str, FormField] = {_label_key(name): f for f in FORM_FIELDS for name in (f.key, f.label, *f.aliases)}
_BY_KEY: dict[str, FormField] = {f.key: f for f in FORM_FIELDS}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class ApplicationSource(StrEnum):
    json_attachment = "json_attachment"
    body_form = "body_form"


@dataclass(frozen=True)
class ExtractedApplication:
    """Normalised field values by key (`FORM_FIELDS`) and the problems found; holds patient data."""

    source: ApplicationSource
    fields: dict[str, str] = field(repr=False)
    problems: tuple[FieldProblem, ...]

    def problem_lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def validate_application(
    raw: Mapping[str, str], source: ApplicationSource, today: date | None = None
) -> ExtractedApplication:
    """Normalise each known field and list the problems; unknown keys are kept out of `fields`."""
    fields: dict[str, str] = {}
    problems: list[FieldProblem] = [FieldProblem(k, "unknown field") for k in raw if k not in _BY_KEY]
    for spec in FORM_FIELDS:
        value = raw.get(spec.key, "").strip()
        problem = _field_problem(spec, value)
        if problem:
            problems.append(FieldProblem(spec.key, problem))
        elif value:
            fields[spec.key] = spec.check(value) if spec.check else value  # type: ignore[assignment]
    problems += _cross_field_problems(fields, today)
    return ExtractedApplication(source, fields, tuple(problems))


def _field_problem(spec: FormField, value: str) -> str | None:
    if not value:
        return "required" if spec.required else None
    if spec.check is not None and spec.check(value) is None:
        return spec.problem
    return None


def _cross_field_problems(fields: Mapping[str, str], today: date | None) -> list[FieldProblem]:
    problems = []
    if "dmd_code" not in fields and "opcs4_code" not in fields:
        problems.append(FieldProblem("dmd_code", "give a dm+d code (drug) or an OPCS-4 code (procedure)"))
    if fields.get("urgency") == "urgent" and not fields.get("urgency_reason"):
        problems.append(FieldProblem("urgency_reason", "required when urgency is urgent"))
    if fields.get("patient_consent") == "no":
        problems.append(FieldProblem("patient_consent", "consent to share information is needed"))
    born = fields.get("date_of_birth")
    if born and today and date.fromisoformat(born) > today:
        problems.append(FieldProblem("date_of_birth", "in the future"))
    return problems


def parse_form(body_text: str) -> dict[str, str] | None:
    """`Label: value` lines; a value runs on over following lines until the next known label.

    Lines before the first label (a greeting) are ignored; a signature line (`-- `) ends the form.
    Returns None when fewer than `MIN_FORM_LABELS` known labels appear.
    """
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in body_text.splitlines():
        if line.rstrip() == "--":
            break
        key, value = _labelled(line)
        if key is not None and key not in found:
            current, found[key] = key, [value]
        elif current is not None:
            found[current].append(line.strip())
    if len(found) < MIN_FORM_LABELS:
        return None
    return {k: "\n".join(v).strip() for k, v in found.items()}


_LABEL_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 +_\-/().']{0,60}?)\s*:\s?(.*)$")


def _labelled(line: str) -> tuple[str | None, str]:
    match = _LABEL_LINE.match(line)
    if not match:
        return None, ""
    spec = _BY_LABEL.get(_label_key(match.group(1)))
    return (spec.key, match.group(2).strip()) if spec else (None, "")


def parse_json_application(content: bytes) -> dict[str, str] | str:
    """A flat JSON object keyed by field key or label; returns the problem text when unreadable."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "not valid UTF-8 JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    return {_json_key(k): _json_value(v) for k, v in data.items()}


def _json_key(key: str) -> str:
    spec = _BY_LABEL.get(_label_key(str(key)))
    return spec.key if spec else str(key)


def _json_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_json_value(v) for v in value)
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------------
# Parsing a raw message


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
    return _address(senders[0][1]) or ""


def _mailbox(message: EmailMessage, envelope_recipient: str | None) -> str:
    candidates = [envelope_recipient] if envelope_recipient else []
    candidates += [a for _, a in getaddresses([str(v) for v in message.get_all("To", [])])]
    for candidate in candidates:
        if address := _address(candidate):
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


class _TextOfHtml(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Enough of HTML to read a form typed in Outlook: block tags become line breaks."""
    parser = _TextOfHtml()
    parser.feed(html)
    lines = (line.strip() for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------------------------------------------
# Gateway decision and replies


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


def inbound_reference(inbound_id: uuid.UUID) -> str:
    return f"MAIL-{inbound_id.hex[:8].upper()}"


def received_payload(mail: InboundMail, inbound_id: uuid.UUID, received_at: datetime) -> dict[str, Any]:
    """The `mail.received` event data: redacted subject, attachment refs, no application content."""
    return {
        "inbound_id": inbound_id,
        "mailbox": mail.mailbox,
        "sender": mail.sender,
        "subject": mail.safe_subject,
        "received_at": received_at,
        "sha256": mail.sha256,
        "has_application": mail.application is not None,
        "application_problems": mail.problem_lines(),
        "attachments": [a.ref() for a in mail.attachments],
    }


@dataclass(frozen=True)
class ReplySettings:
    """What every gateway reply needs besides the message itself."""

    templates: TemplateSet
    identity: MailIdentity
    secure_domains: SecureDomains
    link: str  # where to submit or track applications online
    acknowledgement_template: str = "mail_acknowledgement"
    refusal_template: str = "mail_refusal"


def acknowledgement_mail(mail: InboundMail, inbound_id: uuid.UUID, settings: ReplySettings) -> RenderedMail:
    """The acknowledgement's subject and bodies: our reference and the application's problems."""
    problems = mail.application.problem_lines() if mail.application else []
    context = {
        "mailbox": mail.mailbox,
        "inbound_reference": inbound_reference(inbound_id),
        "case_reference": inbound_reference(inbound_id),
        "has_application": mail.application is not None,
        "application_problems": problems,
        "refused_attachments": list(mail.refused_attachments),
        "link": settings.link,
    }
    return settings.templates.render(settings.acknowledgement_template, context)


def refusal_mail(mail: InboundMail, reason: str, settings: ReplySettings) -> RenderedMail:
    """The refusal's subject and bodies: the reason, never the received subject."""
    context = {"mailbox": mail.mailbox, "reason": reason, "case_reference": "", "link": settings.link}
    return settings.templates.render(settings.refusal_template, context)


def acknowledgement_reply(
    mail: InboundMail, inbound_id: uuid.UUID, settings: ReplySettings, sent_at: datetime | None = None
) -> EmailMessage:
    return _reply(mail, acknowledgement_mail(mail, inbound_id, settings), inbound_id, settings, sent_at)


def refusal_reply(
    mail: InboundMail, reason: str, settings: ReplySettings, sent_at: datetime | None = None
) -> EmailMessage:
    reply_to_id = inbound_id_for(mail.sha256, mail.mailbox)
    return _reply(mail, refusal_mail(mail, reason, settings), reply_to_id, settings, sent_at)


def _reply(
    mail: InboundMail,
    rendered: RenderedMail,
    reply_to_id: uuid.UUID,
    settings: ReplySettings,
    sent_at: datetime | None,
) -> EmailMessage:
    # Replies go to the From mailbox only; a Reply-To could point anywhere.
    return build_message(
        rendered,
        recipient=mail.sender,
        event_id=reply_to_id,
        identity=settings.identity,
        secure_domains=settings.secure_domains,
        sent_at=sent_at,
        in_reply_to=mail.message_id,
        references=mail.references,
    )
