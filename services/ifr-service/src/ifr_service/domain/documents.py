"""Which attachments a case accepts: PDF and DOCX, recognised by their bytes, not their names."""

from __future__ import annotations

from casework.file_types import DOCX, PDF, content_type_of

__all__ = ["DOCX", "PDF", "safe_filename", "sniff"]


def sniff(content: bytes) -> str | None:
    """The content type the bytes really are (PDF or DOCX), or None for anything else."""
    kind = content_type_of(content)
    return kind if kind in (PDF, DOCX) else None


def safe_filename(name: str | None, content_type: str) -> str:
    """The last path component, printable characters only; a name from the type when none is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>:|?*').strip()[:200]
    return base or ("document.pdf" if content_type == PDF else "document.docx")
