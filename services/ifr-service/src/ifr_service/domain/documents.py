"""Which attachments a case accepts: PDF and DOCX, recognised by their bytes, not their names."""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def sniff(content: bytes) -> str | None:
    """The content type the bytes really are (PDF or DOCX), or None for anything else."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"PK\x03\x04"):
        # A DOCX is a zip holding word/document.xml; any other zip (xlsx, a renamed archive) is refused.
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                return DOCX if "word/document.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return None
    return None


def safe_filename(name: str | None, content_type: str) -> str:
    """The last path component, printable characters only; a name from the type when none is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>:|?*').strip()[:200]
    return base or ("document.pdf" if content_type == PDF else "document.docx")
