from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from notification_service.domain.message import MailIdentity, build_message, message_id_for
from notification_service.domain.secure_domains import SecureDomains
from notification_service.domain.templates import RenderedMail

IDENTITY = MailIdentity(from_address="casework-noreply@nhs.net", message_id_domain="casework.nhs.uk")
RENDERED = RenderedMail("ifr_request_acknowledged", 1, "IFR R: received", "Text body\n", "<p>HTML body</p>\n")
EVENT = uuid.UUID("0d6e5a2b-1c3f-4e7a-9b8c-7d6e5f4a3b2c")


def build(recipient: str = "a@nhs.net", event_id: uuid.UUID = EVENT, **kwargs: object) -> object:
    return build_message(
        RENDERED, recipient=recipient, event_id=event_id, identity=IDENTITY, secure_domains=SecureDomains(), **kwargs
    )


def test_same_event_and_recipient_give_the_same_message_id() -> None:
    assert build()["Message-ID"] == build()["Message-ID"]  # type: ignore[index]
    assert build("A@NHS.net")["Message-ID"] == build("a@nhs.net")["Message-ID"]  # type: ignore[index]


def test_different_event_or_recipient_give_different_message_ids() -> None:
    other_event = build(event_id=uuid.UUID("9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"))["Message-ID"]  # type: ignore[index]
    other_recipient = build("b@nhs.net")["Message-ID"]  # type: ignore[index]
    assert len({build()["Message-ID"], other_event, other_recipient}) == 3  # type: ignore[index]


def test_message_id_matches_the_queueing_handler_formula() -> None:
    expected = f"<{uuid.uuid5(EVENT, 'ifr_request_acknowledged|a@nhs.net')}@casework.nhs.uk>"
    assert build()["Message-ID"] == expected  # type: ignore[index]


@given(st.uuids(), st.uuids(), st.sampled_from(["a@nhs.net", "b@nhs.net"]), st.sampled_from(["t1", "t2"]))
def test_message_id_is_a_function_of_event_template_and_recipient(
    e1: uuid.UUID, e2: uuid.UUID, recipient: str, template: str
) -> None:
    first = message_id_for(e1, template, recipient, "d")
    assert first == message_id_for(e1, template, recipient.upper(), "d")
    assert (first == message_id_for(e2, template, recipient, "d")) == (e1 == e2)
    assert first.startswith("<") and first.endswith("@d>")


def test_headers_and_alternatives() -> None:
    sent_at = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    message = build(sent_at=sent_at)
    assert message["From"] == "NHS England specialised commissioning <casework-noreply@nhs.net>"  # type: ignore[index]
    assert message["To"] == "a@nhs.net"  # type: ignore[index]
    assert message["Subject"] == "IFR R: received"  # type: ignore[index]
    assert message["Auto-Submitted"] == "auto-generated"  # type: ignore[index]
    assert message["Date"] == "Mon, 04 May 2026 09:30:00 +0000"  # type: ignore[index]
    assert message.get_content_type() == "multipart/alternative"  # type: ignore[attr-defined]
    assert message.get_body(("plain",)).get_content() == "Text body\n"  # type: ignore[attr-defined]
    assert "HTML body" in message.get_body(("html",)).get_content()  # type: ignore[attr-defined]


def test_outside_secure_domain_gets_secure_prefix() -> None:
    assert build("someone@example.org")["Subject"] == "[secure] IFR R: received"  # type: ignore[index]


def test_reply_threading() -> None:
    message = build(in_reply_to="<orig@nhs.net>", references=["<first@nhs.net>"])
    assert message["In-Reply-To"] == "<orig@nhs.net>"  # type: ignore[index]
    assert message["References"] == "<first@nhs.net> <orig@nhs.net>"  # type: ignore[index]
    assert message["Auto-Submitted"] == "auto-replied"  # type: ignore[index]
