from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notification_service.domain.inbound.form import FORM_FIELDS, ApplicationSource, parse_form
from notification_service.domain.inbound.html_text import html_to_text
from notification_service.domain.inbound.message import InboundMail, inbound_id_for, parse_message
from notification_service.domain.inbound.replies import (
    ReplySettings,
    acknowledgement_reply,
    received_payload,
    refusal_reply,
)
from notification_service.domain.inbound.screening import (
    ENVELOPE_NOT_SECURE,
    NOT_SECURE,
    GatewayOutcome,
    screen,
    sender_allowed,
)
from notification_service.domain.message import MailIdentity
from notification_service.domain.secure_domains import SecureDomains
from notification_service.domain.templates import TemplateSet, subject_problems

NHS_NUMBER = "9990000018"  # 999 prefix: reserved for testing, valid check digit
ALLOWED = SecureDomains(domains=("nhs.net", "uclh.nhs.uk"))
MAILBOX = "england.ifr-applications@nhs.net"

FORM = """Dear IFR team,

Please find our application below.

NHS number: 999 000 0018
Patient name: Jane Example
Date of birth: 01/02/1960
Clinician name: Dr A Clinician
Registration number: 7654321
Clinician email: a.clinician@nhs.net
Trust ODS code: rrv
Treatment name: Examplimab
dm+d code: 3762811000001103
Diagnosis: Example condition
Diagnosis ICD-10: c34.1
Case for exceptionality: The patient differs from others
with the condition in two ways.
Note: both are documented in the attached letter.
Urgency: Routine
Patient consent to share information: Yes

--
Dr A Clinician
"""

APPLICATION_JSON = {
    "nhs_number": NHS_NUMBER,
    "patient_name": "Jane Example",
    "date_of_birth": "1960-02-01",
    "clinician_name": "Dr A Clinician",
    "registration_number": "7654321",
    "trust_ods_code": "RRV",
    "treatment_name": "Examplimab",
    "opcs4_code": "X72.1",
    "diagnosis": "Example condition",
    "diagnosis_icd10": "C34.1",
    "case_for_exceptionality": "Differs from others with the condition.",
    "urgency": "urgent",
    "urgency_reason": "rapid progression",
    "patient_consent": True,
}


def mail(
    sender: str = "Dr A Clinician <A.Clinician@NHS.net>",
    body: str = FORM,
    subject: str = "IFR application",
    attachments: list[tuple[bytes, str, str, str]] | None = None,
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    message["Subject"] = subject
    message["Message-ID"] = "<orig-1@nhs.net>"
    message["Date"] = "Mon, 04 May 2026 10:00:00 +0100"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    for content, maintype, subtype, filename in attachments or []:
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


def reply_settings() -> ReplySettings:
    return ReplySettings(
        templates=TemplateSet.packaged(),
        identity=MailIdentity("casework-noreply@nhs.net"),
        secure_domains=ALLOWED,
        link="https://casework.example.nhs.uk/",
    )


# --- sender allow-list


@pytest.mark.parametrize(
    "sender",
    ["a@nhs.net", "A@NHS.NET", "a@nhs.net.", "team@mail.uclh.nhs.uk", "x@uclh.nhs.uk", "Dr A <a@nhs.net>"],
)
def test_allowed_senders(sender: str) -> None:
    assert sender_allowed(sender, ALLOWED)


@pytest.mark.parametrize(
    "sender",
    [
        "a@nhs.net.evil.com",
        "a@evilnhs.net",
        "a@nhs-net.com",
        "a@nhs.nеt",  # Cyrillic "е"
        "a@gmail.com",
        "a@nhs.uk",  # a parent of an allowed domain is not allowed
        "a@nhs.net@evil.com",
        "nhs.net",
        "",
        "a@",
    ],
)
def test_refused_senders(sender: str) -> None:
    assert not sender_allowed(sender, ALLOWED)


@given(st.from_regex(r"\A[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){0,2}\Z"))
def test_appending_a_suffix_to_an_allowed_domain_never_passes(label: str) -> None:
    assert not sender_allowed(f"a@nhs.net.{label}.com", ALLOWED)
    assert sender_allowed(f"a@{label}.nhs.net", ALLOWED)


# --- parsing


def test_parse_body_form() -> None:
    raw = mail()
    parsed = parse_message(raw, envelope_recipient=MAILBOX)
    assert parsed.mailbox == MAILBOX
    assert parsed.sender == "A.Clinician@nhs.net"
    assert parsed.message_id == "<orig-1@nhs.net>"
    assert parsed.sha256 == hashlib.sha256(raw).hexdigest()
    application = parsed.application
    assert application is not None and application.source is ApplicationSource.body_form
    assert application.problems == ()
    fields = application.fields
    assert fields["nhs_number"] == NHS_NUMBER
    assert fields["date_of_birth"] == "1960-02-01"
    assert fields["trust_ods_code"] == "RRV"
    assert fields["diagnosis_icd10"] == "C34.1"
    assert fields["urgency"] == "routine"
    assert fields["patient_consent"] == "yes"
    # A value runs on over following lines, including a "Note:" line that is not a known label.
    assert fields["case_for_exceptionality"].splitlines() == [
        "The patient differs from others",
        "with the condition in two ways.",
        "Note: both are documented in the attached letter.",
    ]


def test_form_problems_are_listed_per_field_without_values() -> None:
    body = FORM.replace("999 000 0018", "999 000 0019").replace("c34.1", "XX").replace("Routine", "soon")
    application = parse_message(mail(body=body)).application
    assert application is not None
    assert set(application.problem_lines()) == {
        "nhs_number: not a valid NHS number",
        "diagnosis_icd10: not an ICD-10 code",
        "urgency: answer routine or urgent",
    }
    assert "nhs_number" not in application.fields


def test_missing_required_fields_and_cross_field_rules() -> None:
    body = "NHS number: 9990000018\nPatient name: J\nUrgency: urgent\nPatient consent to share information: no\n"
    application = parse_message(mail(body=body)).application
    assert application is not None
    lines = set(application.problem_lines())
    assert "clinician_name: required" in lines
    assert "urgency_reason: required when urgency is urgent" in lines
    assert "patient_consent: consent to share information is needed" in lines
    assert "dmd_code: give a dm+d code (drug) or an OPCS-4 code (procedure)" in lines


def test_date_of_birth_after_the_mail_was_sent_is_a_problem() -> None:
    application = parse_message(mail(body=FORM.replace("01/02/1960", "01/02/2030"))).application
    assert application is not None
    assert "date_of_birth: in the future" in application.problem_lines()


def test_ordinary_correspondence_has_no_application() -> None:
    parsed = parse_message(mail(body="Dear team,\nRe: IFR-2026-000456 — letter attached.\nThanks"))
    assert parsed.application is None


def test_json_attachment_wins_over_body_form() -> None:
    content = json.dumps(APPLICATION_JSON).encode()
    parsed = parse_message(mail(attachments=[(content, "application", "json", "application.json")]))
    application = parsed.application
    assert application is not None and application.source is ApplicationSource.json_attachment
    assert application.problems == ()
    assert application.fields["urgency"] == "urgent"
    assert application.fields["patient_consent"] == "yes"
    assert application.fields["opcs4_code"] == "X72.1"


def test_json_attachment_recognised_by_extension_and_labels_as_keys() -> None:
    data = {"NHS number": NHS_NUMBER, **{k: v for k, v in APPLICATION_JSON.items() if k != "nhs_number"}}
    raw = mail(
        body="see attached", attachments=[(json.dumps(data).encode(), "application", "octet-stream", "form.JSON")]
    )
    application = parse_message(raw).application
    assert application is not None and application.fields["nhs_number"] == NHS_NUMBER


def test_broken_json_attachment_is_a_problem() -> None:
    raw = mail(attachments=[(b"{not json", "application", "json", "application.json")])
    application = parse_message(raw).application
    assert application is not None
    assert application.problem_lines() == ["attachment application.json: not valid UTF-8 JSON"]


def test_unknown_json_keys_are_reported() -> None:
    content = json.dumps({**APPLICATION_JSON, "favourite_colour": "blue"}).encode()
    application = parse_message(mail(attachments=[(content, "application", "json", "a.json")])).application
    assert application is not None
    assert application.problem_lines() == ["favourite_colour: unknown field"]


def test_attachments_with_checksums_and_safe_names() -> None:
    pdf = b"%PDF-1.4 letter"
    raw = mail(
        attachments=[(pdf, "application", "pdf", "../../etc/letter.pdf"), (b"x", "text", "plain", "C:\\tmp\\n.txt")]
    )
    parsed = parse_message(raw)
    attachments = parsed.attachments
    assert [(a.filename, a.content_type, a.size) for a in attachments] == [("letter.pdf", "application/pdf", len(pdf))]
    assert parsed.refused_attachments == ("n.txt: not kept: only PDF, Word (DOCX) and JSON files are accepted",)
    assert attachments[0].sha256 == hashlib.sha256(pdf).hexdigest()
    assert attachments[0].content == pdf
    assert "content=" not in repr(attachments[0])  # bytes stay out of logs


def test_only_pdf_docx_and_json_are_kept_by_their_bytes_and_names() -> None:
    pdf = b"%PDF-1.7 letter"
    raw = mail(
        attachments=[
            (pdf, "application", "pdf", "invoice.pdf.exe"),  # a PDF's bytes under a program's name
            (b"MZ\x90\x00 a program", "application", "pdf", "letter.pdf"),  # a program under a PDF's name
            (pdf, "application", "octet-stream", "Clinic Letter.PDF"),
            (json.dumps(APPLICATION_JSON).encode(), "application", "json", "application.json"),
        ]
    )
    parsed = parse_message(raw)
    assert [a.filename for a in parsed.attachments] == ["Clinic Letter.PDF", "application.json"]
    assert parsed.refused_attachments == (
        "invoice.pdf.exe: not kept: a PDF file must be named *.pdf",
        "letter.pdf: not kept: only PDF, Word (DOCX) and JSON files are accepted",
    )
    assert parsed.problem_lines()[-2:] == list(parsed.refused_attachments)


def test_html_only_body_form_is_read() -> None:
    message = EmailMessage()
    message["From"] = "a@nhs.net"
    message["To"] = MAILBOX
    message["Subject"] = "IFR"
    html = "<html><body>" + "".join(f"<p>{line}</p>" for line in FORM.splitlines() if line) + "</body></html>"
    message.set_content(html, subtype="html")
    application = parse_message(bytes(message)).application
    assert application is not None and application.fields["trust_ods_code"] == "RRV"


def test_html_to_text_drops_scripts() -> None:
    assert html_to_text("<style>p{}</style><p>Urgency: urgent</p><script>x()</script>") == "Urgency: urgent"


def test_checksum_covers_the_whole_raw_message() -> None:
    first, second = mail(), mail(subject="IFR application 2")
    assert parse_message(first).sha256 != parse_message(second).sha256
    box = "england.ifr-casework@nhs.net"
    assert inbound_id_for(parse_message(first).sha256, box) == inbound_id_for(hashlib.sha256(first).hexdigest(), box)
    # the same message to two of our mailboxes is two inbound messages; mailbox case does not matter
    assert inbound_id_for(parse_message(first).sha256, box) != inbound_id_for(parse_message(first).sha256, "b@nhs.net")
    assert inbound_id_for(parse_message(first).sha256, box.upper()) == inbound_id_for(parse_message(first).sha256, box)


def test_every_form_field_label_is_recognised() -> None:
    body = "\n".join(f"{f.label}: value {i}" for i, f in enumerate(FORM_FIELDS))
    form = parse_form(body)
    assert form is not None and set(form) == {f.key for f in FORM_FIELDS}


# --- gateway decision


def parsed(**kwargs: str) -> InboundMail:
    return parse_message(mail(**kwargs))


def test_screen_accepts_allowed_sender() -> None:
    assert screen(parsed(), ALLOWED, envelope_sender="a.clinician@nhs.net").outcome is GatewayOutcome.accept


def test_screen_refuses_outside_domain_and_look_alike() -> None:
    for sender in ("x@gmail.com", "x@nhs.net.evil.com"):
        decision = screen(parsed(sender=sender), ALLOWED)
        assert (decision.outcome, decision.reason) == (GatewayOutcome.refuse, NOT_SECURE)


def test_screen_refuses_a_spoofed_from_with_an_outside_envelope() -> None:
    decision = screen(parsed(), ALLOWED, envelope_sender="bounce@evil.com")
    assert (decision.outcome, decision.reason) == (GatewayOutcome.refuse, ENVELOPE_NOT_SECURE)


@pytest.mark.parametrize(
    "headers", [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"List_Id": "<x.nhs.net>"}]
)
def test_screen_ignores_automatic_mail_to_avoid_loops(headers: dict[str, str]) -> None:
    assert screen(parsed(**headers), ALLOWED).outcome is GatewayOutcome.ignore


def test_screen_ignores_bounces_and_unreadable_senders() -> None:
    assert screen(parsed(), ALLOWED, envelope_sender="").outcome is GatewayOutcome.ignore
    assert screen(parsed(sender="not an address"), ALLOWED).outcome is GatewayOutcome.ignore


# --- replies and the event payload


def test_acknowledgement_reply() -> None:
    inbound = parsed(subject=f"IFR for {NHS_NUMBER} born 01/02/1960")
    inbound_id = inbound_id_for(inbound.sha256, inbound.mailbox)
    reply = acknowledgement_reply(inbound, inbound_id, reply_settings())
    assert reply["To"] == "A.Clinician@nhs.net"
    assert reply["In-Reply-To"] == "<orig-1@nhs.net>"
    assert reply["References"] == "<orig-1@nhs.net>"
    assert subject_problems(str(reply["Subject"]), inbound.application.fields if inbound.application else {}) == []
    assert NHS_NUMBER not in str(reply["Subject"])
    assert "Jane" not in reply.as_string()
    assert reply["Message-ID"] == acknowledgement_reply(inbound, inbound_id, reply_settings())["Message-ID"]


def test_refusal_reply_names_the_reason_and_is_encrypted_outside_secure_domains() -> None:
    inbound = parsed(sender="someone@gmail.com", subject=f"Patient {NHS_NUMBER}")
    reply = refusal_reply(inbound, NOT_SECURE, reply_settings())
    assert reply["To"] == "someone@gmail.com"
    assert str(reply["Subject"]).startswith("[secure] Not accepted")
    assert NHS_NUMBER not in str(reply["Subject"])
    text = " ".join(reply.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
    assert NOT_SECURE in text
    assert reply["In-Reply-To"] == "<orig-1@nhs.net>"


def test_received_payload_carries_no_patient_identifiers() -> None:
    content = json.dumps(APPLICATION_JSON).encode()
    inbound = parse_message(
        mail(
            subject=f"IFR {NHS_NUMBER} Jane Example 1960-02-01",
            attachments=[(content, "application", "json", "a.json")],
        )
    )
    payload = received_payload(inbound, uuid.uuid4(), datetime(2026, 5, 4, tzinfo=UTC))
    flat = json.dumps(payload, default=str)
    for identifier in (NHS_NUMBER, "Jane Example", "1960-02-01"):
        assert identifier not in flat
    assert payload["has_application"] is True
    assert payload["attachments"][0]["filename"] == "a.json"
    assert payload["sha256"] == inbound.sha256


@given(st.binary(max_size=600))
def test_parsing_arbitrary_bytes_never_raises(raw: bytes) -> None:
    inbound = parse_message(raw)
    assert inbound.sha256 == hashlib.sha256(raw).hexdigest()
