"""A stored document sent back as its download, the same way by every service that keeps documents
(IFR case documents, validation-query evidence)."""

from __future__ import annotations

from fastapi import Response


def document_download(content: bytes, content_type: str, filename: str, sha256: str) -> Response:
    """An attachment under its stored name (sanitised when it was stored), its SHA-256 as a Digest so
    the receiver can check it arrived whole."""
    return Response(
        content,
        media_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Digest": f"sha-256={sha256}"},
    )
