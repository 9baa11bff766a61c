"""Attaching a document to an IFR case: a PDF or DOCX recognised by its content, kept with its size and
SHA-256, who uploaded it and the description given; the upload is in the case's audit trail."""

from __future__ import annotations

import uuid

from casework.auth import Principal
from ifr_service.db.models import Document, IfrRequest
from ifr_service.runtime import IfrUnitOfWork


async def attach_document(
    uow: IfrUnitOfWork,
    case: IfrRequest,
    *,
    content: bytes,
    filename: str,
    content_type: str,
    sha256: str,
    description: str | None,
    principal: Principal,
) -> Document:
    """The document stored with the case and its audit row (flushed, not committed)."""
    document = Document(
        id=uuid.uuid4(),
        request_id=case.id,
        filename=filename,
        content_type=content_type,
        size=len(content),
        sha256=sha256,
        description=description,
        content=content,
        uploaded_by=principal.sub,
    )
    uow.session.add(document)
    await uow.session.flush()
    uow.audit(
        principal, "document.upload", "ifr_request", case.id, detail={"document": str(document.id), "sha256": sha256}
    )
    return document
