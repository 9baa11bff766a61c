"""What is kept with a case: attachments (PDF/DOCX by content, size limit, SHA-256), notes, the
history timeline from the audit trail; and the worklist's filters, pagination, CSV and assignment."""

import csv
import hashlib
import io
import uuid
import zipfile

import pytest
from ifr_http import Ifr, application
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from embedded_stack.testing import TestStack

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


async def test_attachments_by_content_with_checksum_and_limit(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False, document_max_bytes=4096) as svc:
        ifr = Ifr(svc.client, stack)
        case = await ifr.submitted()
        url = f"/api/v1/ifr/requests/{case['id']}/documents"
        key = {"Idempotency-Key": f"doc-{uuid.uuid4()}"}
        files = {"file": ("../../clinic letter.pdf", PDF, "application/octet-stream")}
        uploaded = await svc.client.post(
            url, files=files, data={"description": "clinic letter"}, headers={**ifr.clinician, **key}
        )
        assert uploaded.status_code == 201, uploaded.text
        document = uploaded.json()
        assert document["content_type"] == "application/pdf"
        assert document["filename"] == "clinic letter.pdf"
        assert document["sha256"] == hashlib.sha256(PDF).hexdigest() and document["size"] == len(PDF)
        replay = await svc.client.post(
            url, files=files, data={"description": "clinic letter"}, headers={**ifr.clinician, **key}
        )
        assert replay.json()["id"] == document["id"]
        word = await svc.client.post(url, files={"file": ("report.docx", docx())}, headers=ifr.officer)
        assert word.status_code == 201 and word.json()["content_type"].endswith("wordprocessingml.document")

        for name, content in (("fake.pdf", b"MZ\x90\x00 not a pdf"), ("sheet.docx", xlsx()), ("empty.pdf", b"")):
            refused = await svc.client.post(url, files={"file": (name, content)}, headers=ifr.clinician)
            assert refused.status_code == 422, name
            assert refused.json()["errors"][0]["field"] == "file"
        too_big = await svc.client.post(url, files={"file": ("big.pdf", PDF + b"0" * 5000)}, headers=ifr.clinician)
        assert too_big.status_code == 413

        listed = (await svc.client.get(url, headers=ifr.officer)).json()
        assert [d["id"] for d in listed] == [document["id"], word.json()["id"]]
        download = await svc.client.get(f"{url}/{document['id']}", headers=ifr.clinician)
        assert download.content == PDF and download.headers["content-type"] == "application/pdf"
        other_trust = stack.auth("RGT", "clinician")
        assert (await svc.client.get(f"{url}/{document['id']}", headers=other_trust)).status_code == 404


async def test_history_is_the_audit_timeline_with_notes_for_staff(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case = await ifr.act(await ifr.submitted(), "acknowledge")
        note = await svc.client.post(
            f"/api/v1/ifr/requests/{case['id']}/notes", json={"text": "called the consultant"}, headers=ifr.officer
        )
        assert note.status_code == 201
        documents = f"/api/v1/ifr/requests/{case['id']}/documents"
        upload = await svc.client.post(documents, files={"file": ("letter.pdf", PDF)}, headers=ifr.clinician)
        assert upload.status_code == 201
        document = upload.json()
        assert (await svc.client.get(f"{documents}/{document['id']}", headers=ifr.officer)).status_code == 200
        assert (await ifr.get(case, ifr.clinician)).status_code == 200  # a read of patient data
        history = (await svc.client.get(f"/api/v1/ifr/requests/{case['id']}/history", headers=ifr.officer)).json()
        actions = [h["action"] for h in history]
        assert actions[:3] == ["create", "transition:submit", "transition:acknowledge"]
        assert "letter" in actions and "note" in actions and "read" in actions
        # the document, who added it with its checksum, and who opened it
        uploaded = next(h for h in history if h["action"] == "document.upload")
        assert uploaded["detail"] == {"document": document["id"], "sha256": hashlib.sha256(PDF).hexdigest()}
        assert uploaded["actor_org"] == "RRV"
        opened = next(h for h in history if h["action"] == "document.read")
        assert opened["detail"] == {"document": document["id"]} and opened["actor"] == "officer-1"
        assert actions.index("document.upload") < actions.index("document.read") < actions.index("read")
        assert next(h for h in history if h["action"] == "note")["detail"]["text"] == "called the consultant"
        submit = next(h for h in history if h["action"] == "transition:submit")
        assert (submit["detail"]["from"], submit["detail"]["to"]) == ("draft", "received")
        provider_view = (
            await svc.client.get(f"/api/v1/ifr/requests/{case['id']}/history", headers=ifr.clinician)
        ).json()
        assert "note" not in [h["action"] for h in provider_view]
        refused = await svc.client.post(
            f"/api/v1/ifr/requests/{case['id']}/notes", json={"text": "x"}, headers=ifr.clinician
        )
        assert refused.status_code == 403
        # the audit trail is append-only
        for change in ("DELETE FROM audit_events", "UPDATE audit_events SET actor = 'someone else'"):
            async with svc.runtime.engine.connect() as conn:
                with pytest.raises(DBAPIError):
                    await conn.execute(text(f"{change} WHERE entity_id = :id"), {"id": case["id"]})


async def test_worklist_filters_pagination_csv_and_assignment(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_worklist", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        routine = [await ifr.submitted() for _ in range(3)]
        urgent = await ifr.submitted(application(urgency="urgent", urgency_reason="deteriorating"))
        screening = await ifr.screening()
        assigned = await svc.client.post(
            f"/api/v1/ifr/requests/{screening['id']}/assign",
            json={"officer": "officer-7"},
            headers={**ifr.officer, "If-Match": f'"{screening["version"]}"'},
        )
        assert assigned.status_code == 200 and assigned.json()["version"] == screening["version"] + 1

        async def ids(**params: object) -> set[str]:
            response = await svc.client.get(
                "/api/v1/ifr/requests", params={"limit": 500, **params}, headers=ifr.officer
            )
            assert response.status_code == 200, response.text
            return {c["id"] for c in response.json()["items"]}

        assert await ids(state="received") == {c["id"] for c in [*routine, urgent]}
        assert await ids(stage="screening") == {screening["id"]}
        assert await ids(urgency="urgent") == {urgent["id"]}
        assert await ids(officer="officer-7") == {screening["id"]}
        assert await ids(trust="RGT") == set()
        everyone = await ids()
        assert len(everyone) == 5
        assert await ids(trust="rrv") == everyone  # the trust's sites too; any case
        assert await ids(state=["received", "screening"], urgency="routine") == {c["id"] for c in [*routine, screening]}
        assert await ids(overdue=False) == everyone  # all were received today
        soonest = min(c["next_due"] for c in [*routine, urgent])
        assert await ids(due_before=soonest) == set()
        assert urgent["id"] in await ids(due_before="2999-01-01")

        pages, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await svc.client.get("/api/v1/ifr/requests", params=params, headers=ifr.officer)).json()
            pages.append([c["id"] for c in page["items"]])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert [len(p) for p in pages] == [2, 2, 1] and {i for p in pages for i in p} == everyone

        exported = await svc.client.get("/api/v1/ifr/requests.csv", params={"urgency": "routine"}, headers=ifr.officer)
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {r["id"] for r in rows} == everyone - {urgent["id"]}
        assert "nhs_number" not in exported.text.splitlines()[0] and "9990000018" not in exported.text
        bad = await svc.client.get("/api/v1/ifr/requests", params={"urgency": "soon"}, headers=ifr.officer)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "urgency"
