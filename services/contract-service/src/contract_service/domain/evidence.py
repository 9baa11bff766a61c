"""Which evidence a validation query accepts: PDF and DOCX, recognised by their bytes, with a name
that ends as the type does; and only while the query is still open to the provider's answer."""

from __future__ import annotations

from casework.file_types import DOCX, EXTENSIONS, PDF, content_type_of, name_matches
from contract_service.domain.validation_queries import OPEN


def evidence_type(content: bytes, filename: str) -> str | None:
    """The document's content type when it is a PDF or DOCX named as one; None for anything else."""
    kind = content_type_of(content)
    if kind not in (PDF, DOCX) or not name_matches(filename, kind):
        return None
    return kind


def safe_filename(name: str | None, content_type: str) -> str:
    """The last path component, printable characters only (it goes into a Content-Disposition)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>:|?*;').strip()[:200]
    return base or f"evidence{EXTENSIONS[content_type]}"


def takes_evidence(status: str) -> bool:
    """Evidence is attached while the provider may still answer or the commissioner has yet to settle."""
    return status in OPEN
