"""What is kept with a case: documents (attachments), notes, letter copies, and its history."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import undefer

from casework.auth import Principal, require_roles
from casework.downloads import document_download
from casework.idempotency import IdempotentRequest
from casework.openapi import IDEMPOTENT, upload_example
from casework.problems import NotFound, Problem, field_problem
from casework.request_body import body_limit
from ifr_service.access import APPLICANT_ROLES, READER_ROLES, STAFF_ROLES, is_staff
from ifr_service.db.models import Document, Letter, Note
from ifr_service.domain.documents import safe_filename, sniff
from ifr_service.runtime import Runtime, Uow
from ifr_service.use_cases.documents import attach_document
from ifr_service.use_cases.workflow import get_case

router = APIRouter(prefix="/ifr/requests", tags=["records"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
FORM_OVERHEAD = 64 * 1024  # the form's boundaries, part headers and description around the file


class PayloadTooLarge(Problem):
    status, title = 413, "Content too large"


class DocumentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    description: str | None
    uploaded_by: str
    created_at: datetime


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"file: larger than the {limit} bytes allowed", errors=[{"field": "file", "message": "too large"}]
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/{request_id}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentOut,
    openapi_extra={**IDEMPOTENT, **upload_example("Rheumatology clinic letter, 2 June 2026")},
)
@body_limit("document_max_bytes", overhead=FORM_OVERHEAD, field="file")
async def upload_document(
    request_id: uuid.UUID,
    request: Request,
    uow: Uow,
    runtime: Runtime,
    file: Annotated[UploadFile, File(description="a clinic letter or report: PDF or DOCX")],
    description: Annotated[str | None, Form(max_length=500)] = None,
    principal: Principal = Depends(require_roles(*APPLICANT_ROLES)),
) -> Any:
    """Attach a PDF or DOCX (recognised by its content) to the case, with its SHA-256."""
    case = await get_case(uow, request_id, principal)
    content = await _read_limited(file, runtime.settings.document_max_bytes)
    if not content:
        raise field_problem("file", "is empty")
    content_type = sniff(content)
    if content_type is None:
        raise field_problem("file", "must be a PDF or DOCX document")
    digest = hashlib.sha256(content).hexdigest()
    filename = safe_filename(file.filename, content_type)
    idempotent = IdempotentRequest(
        request, principal, {"filename": filename, "sha256": digest, "description": description}
    )
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    document = await attach_document(
        uow,
        case,
        content=content,
        filename=filename,
        content_type=content_type,
        sha256=digest,
        description=description,
        principal=principal,
    )
    out = DocumentOut.model_validate(document, from_attributes=True).model_dump(mode="json")
    await idempotent.remember(uow, status.HTTP_201_CREATED, out)
    if (first := await idempotent.commit_or_replay(uow)) is not None:
        return first
    return JSONResponse(out, status_code=201)


@router.get("/{request_id}/documents", response_model=list[DocumentOut])
async def list_documents(request_id: uuid.UUID, uow: Uow, principal: Reader) -> list[DocumentOut]:
    case = await get_case(uow, request_id, principal)
    rows = await uow.session.scalars(
        select(Document).where(Document.request_id == case.id).order_by(Document.created_at)
    )
    return [DocumentOut.model_validate(d, from_attributes=True) for d in rows]


@router.get("/{request_id}/documents/{document_id}", response_class=Response)
async def download_document(request_id: uuid.UUID, document_id: uuid.UUID, uow: Uow, principal: Reader) -> Response:
    case = await get_case(uow, request_id, principal)
    document = await uow.session.scalar(
        select(Document)
        .options(undefer(Document.content))
        .where(Document.id == document_id, Document.request_id == case.id)
    )
    if document is None:
        raise NotFound(f"document {document_id} not found")
    uow.audit(principal, "document.read", "ifr_request", case.id, detail={"document": str(document.id)})
    await uow.commit()
    return document_download(document.content, document.content_type, document.filename, document.sha256)


class NoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Spoke to the consultant's secretary: the clinic letter follows by secure email."}]
        },
    )
    text: str = Field(min_length=1, max_length=10_000)


class NoteOut(BaseModel):
    id: uuid.UUID
    author: str
    text: str
    created_at: datetime


@router.post(
    "/{request_id}/notes", status_code=status.HTTP_201_CREATED, response_model=NoteOut, openapi_extra=IDEMPOTENT
)
async def add_note(
    request_id: uuid.UUID,
    body: NoteIn,
    request: Request,
    uow: Uow,
    principal: Annotated[Principal, Depends(require_roles(*STAFF_ROLES))],
) -> Any:
    """A case note by a case officer or panel member (internal: not shown to the trust)."""
    case = await get_case(uow, request_id, principal)
    idempotent = IdempotentRequest(request, principal, body.model_dump())
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    note = Note(id=uuid.uuid4(), request_id=case.id, author=principal.sub, text=body.text)
    uow.session.add(note)
    await uow.session.flush()
    uow.audit(principal, "note", "ifr_request", case.id, detail={"note": str(note.id)})
    out = NoteOut.model_validate(note, from_attributes=True).model_dump(mode="json")
    await idempotent.remember(uow, status.HTTP_201_CREATED, out)
    if (first := await idempotent.commit_or_replay(uow)) is not None:
        return first
    return JSONResponse(out, status_code=201)


class LetterOut(BaseModel):
    id: uuid.UUID
    kind: str
    event_type: str
    recipient: str | None
    subject: str
    body: str
    template: str | None = Field(None, description="the packaged letter template the wording came from")
    template_version: int | None = Field(None, description="its version (None: a letter older than versioning)")
    created_at: datetime


@router.get("/{request_id}/letters", response_model=list[LetterOut])
async def list_letters(request_id: uuid.UUID, uow: Uow, principal: Reader) -> list[LetterOut]:
    """Copies of the letters sent for this case (acknowledgement, information, screening, decision ...)."""
    case = await get_case(uow, request_id, principal)
    rows = (
        await uow.session.scalars(select(Letter).where(Letter.request_id == case.id).order_by(Letter.created_at))
    ).all()
    uow.audit(principal, "letters.read", "ifr_request", case.id)
    await uow.commit()
    return [LetterOut.model_validate(r, from_attributes=True) for r in rows]


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    actor_org: str | None
    action: str
    reason: str | None
    detail: dict[str, Any]


@router.get("/{request_id}/history", response_model=list[HistoryEntry])
async def history(request_id: uuid.UUID, uow: Uow, principal: Reader) -> list[HistoryEntry]:
    """The case's timeline from the append-only audit trail: transitions, documents, notes, letters and
    every read of its patient data. Notes are shown to commissioner staff only."""
    case = await get_case(uow, request_id, principal)
    audit = uow.tables.audit
    rows = (
        await uow.session.execute(
            select(audit)
            .where(audit.c.entity_type == "ifr_request", audit.c.entity_id == str(case.id))
            .order_by(audit.c.id)
        )
    ).all()
    notes = {}
    if is_staff(principal):
        notes = {str(n.id): n.text for n in await uow.session.scalars(select(Note).where(Note.request_id == case.id))}
    entries = []
    for r in rows:
        if r.action == "note" and not is_staff(principal):
            continue
        detail = dict(r.detail)
        if r.action == "note":
            detail["text"] = notes.get(str(detail.get("note")), "")
        entries.append(
            HistoryEntry(at=r.at, actor=r.actor, actor_org=r.actor_org, action=r.action, reason=r.reason, detail=detail)
        )
    uow.audit(principal, "history.read", "ifr_request", case.id)
    await uow.commit()
    return entries
