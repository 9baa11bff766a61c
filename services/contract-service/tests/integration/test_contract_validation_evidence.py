"""Evidence on a validation query over HTTP against the real database: the trust attaches a PDF or
DOCX (recognised by its bytes, named as its type, within the size limit, If-Match the query read),
both sides see and download it (audited), another trust gets 404, nothing is added once settled;
and the challenged-value report as CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from contract_fixtures import DRUG_A, commissioner, new_nhs_number, new_provider
from sqlalchemy import select

from embedded_stack.testing import RunningService, TestStack

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
LIMIT = 4096


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract", evidence_max_bytes=LIMIT) as service:
        yield service


async def raised_query(stack: TestStack, contract: RunningService) -> tuple[str, str]:
    """A new trust's return with one line nobody approved: its query's id (and the trust)."""
    provider = new_provider()
    line = {
        "nhs_number": new_nhs_number(),
        "dmd_id": DRUG_A,
        "indication": "metastatic disease",
        "administered_on": "2026-07-08",
        "quantity": "1",
        "cost": "750.00",
    }
    body = {"provider_ods": provider, "period": "2026-07", "submission_id": "E-1", "lines": [line]}
    sent = await contract.client.post("/api/v1/drug-returns", json=body, headers=stack.auth(provider, "trust_finance"))
    assert sent.status_code == 201, sent.text
    return sent.json()["query_id"], provider


async def attach(
    contract: RunningService, headers: dict[str, str], query_id: str, name: str, content: bytes, etag: str | None
) -> Any:
    return await contract.client.post(
        f"/api/v1/validation-queries/{query_id}/documents",
        files={"file": (name, content, "application/octet-stream")},
        data={"description": "Blueteq approval form"},
        headers={**headers, **({"If-Match": etag} if etag else {})},
    )


async def test_the_trust_attaches_evidence_both_sides_read_it(stack: TestStack, contract: RunningService) -> None:
    query_id, provider = await raised_query(stack, contract)
    trust = stack.auth(provider, "trust_finance")
    read = await contract.client.get(f"/api/v1/validation-queries/{query_id}", headers=trust)
    etag = read.headers["ETag"]
    assert read.json()["documents"] == []

    assert (await attach(contract, trust, query_id, "form.pdf", PDF, None)).status_code == 428
    for name, content in (("form.pdf", b"MZ\x90\x00 not a pdf"), ("form.pdf.exe", PDF), ("form.pdf", b"")):
        refused = await attach(contract, trust, query_id, name, content, etag)
        assert refused.status_code == 422, (name, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["file"]
    too_large = await attach(contract, trust, query_id, "big.pdf", PDF + b"0" * LIMIT, etag)
    assert too_large.status_code == 413 and too_large.json()["errors"][0]["field"] == "file"
    other = stack.auth(new_provider(), "trust_finance")
    assert (await attach(contract, other, query_id, "form.pdf", PDF, etag)).status_code == 404
    assert (await attach(contract, commissioner(stack), query_id, "form.pdf", PDF, etag)).status_code == 403

    pdf = await attach(contract, trust, query_id, "../Blueteq form.pdf", PDF, etag)
    assert pdf.status_code == 201, pdf.text
    assert (pdf.json()["filename"], pdf.json()["content_type"]) == ("Blueteq form.pdf", "application/pdf")
    word = await attach(contract, trust, query_id, "letter.DOCX", docx(), etag)
    assert word.status_code == 201, word.text

    disputed = await contract.client.post(
        f"/api/v1/validation-queries/{query_id}/response",
        json={"action": "dispute", "evidence_text": "approved on Blueteq before the first dose"},
        headers={**trust, "If-Match": etag},  # attaching evidence does not move the query's version
    )
    assert disputed.status_code == 200, disputed.text

    detail = await contract.client.get(f"/api/v1/validation-queries/{query_id}", headers=commissioner(stack))
    assert [d["filename"] for d in detail.json()["documents"]] == ["Blueteq form.pdf", "letter.DOCX"]
    document_id = pdf.json()["id"]
    download = await contract.client.get(
        f"/api/v1/validation-queries/{query_id}/documents/{document_id}", headers=commissioner(stack)
    )
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert 'filename="Blueteq form.pdf"' in download.headers["content-disposition"]
    hidden = await contract.client.get(f"/api/v1/validation-queries/{query_id}/documents/{document_id}", headers=other)
    assert hidden.status_code == 404

    upheld = await contract.client.post(
        f"/api/v1/validation-queries/{query_id}/resolution",
        json={"action": "uphold_challenge", "note": "Blueteq approval was for another indication"},
        headers={**commissioner(stack), "If-Match": disputed.headers["ETag"]},
    )
    assert upheld.status_code == 200 and upheld.json()["funded_adjustment"] == "0.00"
    late = await attach(contract, trust, query_id, "late.pdf", PDF, upheld.headers["ETag"])
    assert late.status_code == 409 and late.json()["current_state"] == "upheld"

    audit = contract.runtime.tables.audit
    async with contract.runtime.sessions() as session:
        actions = list(
            await session.scalars(
                select(audit.c.action).where(audit.c.entity_id == query_id, audit.c.action.like("evidence.%"))
            )
        )
    assert sorted(actions) == ["evidence.read", "evidence.upload", "evidence.upload"]


async def test_challenged_value_report_as_csv(stack: TestStack, contract: RunningService) -> None:
    _, provider = await raised_query(stack, contract)
    export = await contract.client.get(
        "/api/v1/reports/challenged-value.csv",
        params={"provider": provider, "fy": "2026/27"},
        headers=stack.auth(provider, "trust_finance"),
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "challenged-value-2026-27.csv" in export.headers["content-disposition"]
    rows = [
        (r["period"], r["queries"], r["challenged_value"], r["open_value"])
        for r in csv.DictReader(io.StringIO(export.text))
    ]
    assert rows == [("2026-07", "1", "750.00", "750.00"), ("", "1", "750.00", "750.00")]
