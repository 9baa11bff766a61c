"""Evidence documents on a validation query: the provider attaches a PDF or DOCX (a Blueteq form, a
letter) while the query is open; both sides list and download them. Uploads and downloads are audited."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import undefer

from casework.auth import Principal
from casework.concurrency import IfMatch, require_version
from casework.downloads import document_download
from casework.openapi import upload_example
from casework.problems import Conflict, NotFound, Problem, field_problem
from casework.request_body import body_limit
from contract_service.api.access import provider_user, reader
from contract_service.api.validation_queries import EvidenceOut, documents_of, load_query
from contract_service.db.models import EvidenceDocument
from contract_service.domain.evidence import evidence_type, safe_filename, takes_evidence
from contract_service.runtime import Uow

router = APIRouter(tags=["validation queries"])
FORM_OVERHEAD = 64 * 1024  # the form's boundaries, part headers and description around the file


class EvidenceTooLarge(Problem):
    status, title = 413, "Content too large"


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise EvidenceTooLarge(
                f"file: larger than the {limit} bytes allowed",
                errors=[{"field": "file", "message": f"must be at most {limit // (1024 * 1024)} MB"}],
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/validation-queries/{query_id}/documents",
    status_code=201,
    response_model=EvidenceOut,
    openapi_extra=upload_example("Blueteq approval form for the patient, May 2026"),
)
@body_limit("evidence_max_bytes", overhead=FORM_OVERHEAD, field="file")
async def attach_evidence(
    query_id: uuid.UUID,
    uow: Uow,
    file: Annotated[UploadFile, File(description="the evidence: PDF or DOCX")],
    description: Annotated[str | None, Form(max_length=500)] = None,
    if_match: IfMatch = None,
    principal: Principal = provider_user,
) -> JSONResponse:
    """`If-Match` the query's ETag (evidence is for the query as the trust read it); the query's
    version does not move, so the dispute that follows sends the same ETag."""
    query = await load_query(uow, query_id, principal)
    require_version(if_match, query.version)
    if not takes_evidence(query.status):
        raise Conflict(f"the query is {query.status}: evidence can no longer be added", current_state=query.status)
    content = await _read_limited(file, uow.settings.evidence_max_bytes)
    if not content:
        raise field_problem("file", "is empty")
    content_type = evidence_type(content, file.filename or "")
    if content_type is None:
        raise field_problem("file", "must be a PDF or Word (DOCX) document, named .pdf or .docx")
    document = EvidenceDocument(
        id=uuid.uuid4(),
        query_id=query.id,
        filename=safe_filename(file.filename, content_type),
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        description=description,
        content=content,
        uploaded_by=principal.sub,
    )
    uow.session.add(document)
    await uow.session.flush()
    detail = {"document": str(document.id), "sha256": document.sha256}
    uow.audit(principal, "evidence.upload", "validation_query", query.id, detail=detail)
    out = EvidenceOut.model_validate(document, from_attributes=True)
    await uow.commit()
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@router.get("/validation-queries/{query_id}/documents", response_model=list[EvidenceOut])
async def list_evidence(query_id: uuid.UUID, uow: Uow, principal: Principal = reader) -> list[EvidenceOut]:
    return await documents_of(uow, await load_query(uow, query_id, principal))


@router.get("/validation-queries/{query_id}/documents/{document_id}", response_class=Response)
async def download_evidence(
    query_id: uuid.UUID, document_id: uuid.UUID, uow: Uow, principal: Principal = reader
) -> Response:
    query = await load_query(uow, query_id, principal)
    document = await uow.session.scalar(
        select(EvidenceDocument)
        .options(undefer(EvidenceDocument.content))
        .where(EvidenceDocument.id == document_id, EvidenceDocument.query_id == query.id)
    )
    if document is None:
        raise NotFound(f"document {document_id} not found")
    uow.audit(principal, "evidence.read", "validation_query", query.id, detail={"document": str(document.id)})
    await uow.commit()
    return document_download(document.content, document.content_type, document.filename, document.sha256)
