"""What a file really is, from its bytes rather than its name or declared type: PDF, DOCX or JSON.

Documents reach the platform as uploads (ifr-service) and as mail attachments (notification-service);
both keep only what their bytes show to be an accepted type, and a name must end as that type does
(`invoice.pdf.exe` is not a PDF, whatever it holds).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePosixPath

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JSON = "application/json"
EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", JSON: ".json"}
LABELS = {PDF: "PDF", DOCX: "Word (DOCX)", JSON: "JSON"}


def content_type_of(content: bytes) -> str | None:
    """PDF, DOCX or JSON when the bytes are one; None for anything else."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"PK\x03\x04"):
        # A DOCX is a zip holding word/document.xml; any other zip (xlsx, a renamed archive) is not.
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                return DOCX if "word/document.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return None
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        try:
            json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            return None
        return JSON
    return None


def name_matches(filename: str, content_type: str) -> bool:
    """The name's last extension is the type's (`report.PDF` for a PDF; not `invoice.pdf.exe`)."""
    return PurePosixPath(filename.lower()).suffix == EXTENSIONS[content_type]
