"""Notification tables: the outbound queue, stored template versions, and received mail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from notification_service.db.base import Base


class Notification(Base):
    """One message to one recipient, caused by one event (or a received mail, for gateway replies)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("source_event_id", "template", "recipient"),
        # What the sender scans: due work only, in due order.
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index("ix_notifications_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    source_event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source_event_type: Mapped[str] = mapped_column(String(120), index=True)
    template: Mapped[str] = mapped_column(String(120), index=True)
    template_version: Mapped[int] = mapped_column(Integer, default=1)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    recipient_role: Mapped[str | None] = mapped_column(String(40))
    case_reference: Mapped[str | None] = mapped_column(String(200), index=True)
    provider_ods: Mapped[str | None] = mapped_column(String(10), index=True)
    # the patient the causing event named (its patient_ref, never an NHS number): the IG audit's key
    patient_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    link: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)  # as sent, `[secure]` prefix included
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), index=True, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    claim_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # W3C traceparent/tracestate of the event that queued it: sending continues that trace
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}  # type: ignore[misc]  # SQLAlchemy types it an instance variable; ruff (RUF012) wants a ClassVar


class TemplateVersion(Base):
    """A template version edited through the API; packaged files are version 1 and are not stored."""

    __tablename__ = "template_versions"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    sample: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # preview data of a template not packaged
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InboundMessage(Base):
    """A message accepted by the inbound gateway, kept as received with its checksum."""

    __tablename__ = "inbound_messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # inbound_id_for(sha256, mailbox)
    mailbox: Mapped[str] = mapped_column(String(254), index=True)
    sender: Mapped[str] = mapped_column(String(254), index=True)
    envelope_sender: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)  # as sent: may hold identifiers (served to staff only)
    message_id: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    application: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    application_source: Mapped[str | None] = mapped_column(String(40))
    application_problems: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # the sender checks' results (spf, dkim, dmarc and the Authentication-Results header); None: not checked
    sender_auth: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InboundRefusal(Base):
    """A message the gateway refused (a sender outside the secure domains). Only the envelope facts and
    the reason are kept, for the mail operators: its content may hold patient data from a sender who
    should not have sent it, so none of it is stored."""

    __tablename__ = "inbound_refusals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # inbound_id_for(sha256, mailbox)
    mailbox: Mapped[str] = mapped_column(String(254), index=True)
    sender: Mapped[str] = mapped_column(String(254), index=True)
    envelope_sender: Mapped[str | None] = mapped_column(String(254))
    message_id: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    refused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class InboundAttachment(Base):
    """One attachment of a received message; `index` is its position in the message's attachment list."""

    __tablename__ = "inbound_attachments"

    inbound_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("inbound_messages.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class RelayRateBucket(Base):
    """The token bucket of one relay account, shared by every sender replica (sending.rate_limit).

    `tokens` goes below zero while replicas hold slots reserved ahead of time: it is the count of
    slots left (or owed) as of `refilled_at`, a time from PostgreSQL's clock only."""

    __tablename__ = "relay_rate_buckets"

    account: Mapped[str] = mapped_column(String(400), primary_key=True)
    tokens: Mapped[float] = mapped_column(Double)
    refilled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
