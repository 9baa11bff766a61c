"""Request and response bodies of the notification API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

TEMPLATE_NAME = r"^[a-z][a-z0-9_]{0,119}$"


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_event_id: uuid.UUID
    source_event_type: str
    template: str
    template_version: int
    recipient: str
    recipient_role: str | None
    case_reference: str | None
    provider_ods: str | None
    subject: str
    link: str | None
    message_id: str
    in_reply_to: str | None
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    version: int


class NotificationDetail(NotificationOut):
    body_text: str
    body_html: str


class ResendRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "The trust's CDF lead asked for the approval email again (first one quarantined)."}]
        }
    )
    reason: str | None = Field(None, max_length=500, description="Why it is sent again (kept in the audit trail)")


class TemplateSummary(BaseModel):
    name: str
    latest_version: int
    versions: list[int]
    origin: Literal["packaged", "stored"]  # where the latest version comes from
    routed_events: list[str]
    gateway_reply: bool


class TemplateOut(BaseModel):
    name: str
    version: int
    latest_version: int
    versions: list[int]
    origin: Literal["packaged", "stored"]
    subject: str
    text: str
    html: str
    created_by: str | None = None
    created_at: datetime | None = None


# A new version of the packaged cdf_application_approved template (its sample data checks it: no `sample`)
TEMPLATE_EDIT_EXAMPLE: JsonDict = {
    "subject": "CDF application {{ reference }}: approved",
    "text": "Cancer Drugs Fund application {{ reference }} has been approved.\n\n"
    "Treatment must start by {{ lapse_due | long_date }}, or the approval lapses.\n\n"
    "View the application: {{ link }}\n",
    "html": "<p>Cancer Drugs Fund application {{ reference }} has been approved.</p>\n"
    "<p>Treatment must start by {{ lapse_due | long_date }}, or the approval lapses.</p>\n"
    '<p><a href="{{ link }}">View the application</a></p>\n',
}


class TemplateEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TEMPLATE_EDIT_EXAMPLE]})

    subject: str = Field(min_length=1, max_length=2_000, description="Jinja2; one line; no patient identifiers")
    text: str = Field(min_length=1, max_length=100_000, description="Jinja2 plain-text body")
    html: str = Field(min_length=1, max_length=200_000, description="Jinja2 HTML body (autoescaped)")
    sample: dict[str, Any] | None = Field(
        None, description="Preview data; required for a template that is not packaged (checked against it)"
    )


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"version": 2}]})

    context: dict[str, Any] | None = Field(None, description="Values to render with; the sample data when absent")
    version: int | None = Field(None, ge=1, description="The version to preview; the latest when absent")


class PreviewOut(BaseModel):
    name: str
    version: int
    subject: str
    text: str
    html: str


class InboundAttachmentOut(BaseModel):
    index: int
    filename: str
    content_type: str
    size: int
    sha256: str


class InboundMailOut(BaseModel):
    """The inbound-mail contract with ifr-service (see the README)."""

    inbound_id: uuid.UUID
    mailbox: str
    sender: str
    subject: str
    received_at: datetime
    message_id: str | None
    sha256: str
    application: dict[str, str] | None
    application_problems: list[str]
    attachments: list[InboundAttachmentOut]
    sender_auth: dict[str, str] | None = Field(
        None, description="the gateway's sender checks: spf, dkim, dmarc results and the Authentication-Results header"
    )


class InboundMailSummary(BaseModel):
    inbound_id: uuid.UUID
    mailbox: str
    sender: str
    received_at: datetime
    sha256: str
    has_application: bool
    application_problems: list[str]


class InboundRefusalOut(BaseModel):
    """A message the gateway refused: who sent it where, when and why; none of its content is kept."""

    model_config = ConfigDict(from_attributes=True)

    inbound_id: uuid.UUID
    mailbox: str
    sender: str
    envelope_sender: str | None
    message_id: str | None
    sha256: str
    reason: str
    refused_at: datetime
