"""Oversized and unauthenticated request bodies cannot exhaust a service's memory.

The services run as deployed (own process under uvicorn); a raw socket streams the bodies, so a body can
be declared and never sent (a refusal before reading answers at once) or sent in full (300 MB) while the
service's peak resident memory (VmHWM of its process) is read before and after.
"""

from __future__ import annotations

import http.client
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from embedded_stack.testing import TestStack

MB = 1024 * 1024
HUGE = 300 * MB
FLAT = 64 * MB  # the most a service's peak memory may grow while a 300 MB body streams past it


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    sent: int  # body bytes the client got onto the wire before it stopped


def post(
    url: str,
    path: str,
    headers: dict[str, str],
    size: int,
    *,
    chunked: bool,
    send: bool = True,
    prefix: bytes = b"",
    timeout_s: float = 60,
) -> Answer:
    """POST a body of `size` bytes (`prefix`, then spaces) with Content-Length or chunked; `send=False` sends only the
    headers, so the answer must come without the body being read. The body keeps streaming after the
    answer until it is all sent or the service closes the connection."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout_s)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}{framing}\r\n\r\n".encode())
    sent = [0]

    def pump() -> None:
        try:
            while sent[0] < size:
                piece = prefix if sent[0] == 0 and prefix else b" " * min(MB, size - sent[0])
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent[0] += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the service closed the connection: what it read is what it got

    sender = threading.Thread(target=pump, daemon=True)
    if send:
        sender.start()
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        body = response.read()
    finally:
        if send:
            sender.join(timeout_s)
        sock.close()
    return Answer(response.status, response.headers, body, sent[0])


def peak_rss(pid: int) -> int:
    """VmHWM of a process, in bytes: its resident memory at its highest."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def problem(answer: Answer, status: int) -> dict[str, object]:
    import json

    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["content-type"] == "application/problem+json"
    document = json.loads(answer.body)
    assert document["status"] == status and document["correlation_id"] == answer.headers["x-correlation-id"]
    return document


@pytest.fixture(scope="module")
def ifr(stack: TestStack) -> Iterator[str]:
    with stack.served("ifr", RUN_WORKERS="false") as url:
        yield url


@pytest.fixture(scope="module")
def contract(stack: TestStack) -> Iterator[str]:
    with stack.served("contract", RUN_WORKERS="false") as url:
        yield url


def test_a_300_mb_body_without_a_token_is_refused_before_it_is_read(stack: TestStack, contract: str) -> None:
    pid = stack.processes[contract].pid
    json_body = {"Content-Type": "application/json"}
    warm = post(contract, "/api/v1/contracts", json_body, 10, chunked=False)
    assert problem(warm, 401)["detail"] == "a bearer token is required"
    before = peak_rss(pid)

    declared = post(contract, "/api/v1/contracts", json_body, HUGE, chunked=False, send=False, timeout_s=10)
    problem(declared, 401)
    assert declared.headers["www-authenticate"].startswith("Bearer")
    bad_token = {**json_body, "Authorization": "Bearer not-a-token"}
    problem(post(contract, "/api/v1/contracts", bad_token, HUGE, chunked=False, send=False, timeout_s=10), 401)
    upload = {"Content-Type": "text/csv", "Authorization": "Bearer"}  # a scheme without a token
    problem(post(contract, "/api/v1/drug-returns", upload, HUGE, chunked=True, send=False, timeout_s=10), 401)

    streamed = post(contract, "/api/v1/contracts", json_body, HUGE, chunked=True)
    problem(streamed, 401)
    grown = peak_rss(pid) - before
    print(f"contract-service: 300 MB streamed without a token, peak RSS {before / MB:.0f} MB + {grown / MB:.1f} MB")
    assert grown < FLAT, f"peak memory grew by {grown / MB:.0f} MB"
    assert httpx.get(f"{contract}/health/live").status_code == 200


def test_a_300_mb_body_with_a_token_is_413_while_memory_stays_flat(stack: TestStack, ifr: str) -> None:
    pid = stack.processes[ifr].pid
    caller = {"Authorization": f"Bearer {stack.token('bodies', 'RRV', 'clinician')}"}
    json_body = {**caller, "Content-Type": "application/json"}
    small = post(ifr, "/api/v1/ifr/requests", json_body, 10, chunked=False)
    assert small.status == 422  # read and parsed: spaces are not a JSON document
    before = peak_rss(pid)

    declared = post(ifr, "/api/v1/ifr/requests", json_body, HUGE, chunked=False, send=False, timeout_s=10)
    document = problem(declared, 413)
    assert document["errors"] == [
        {"field": "body", "message": f"larger than the {MB} bytes this route accepts", "type": "too_large"}
    ]
    documents = f"/api/v1/ifr/requests/{uuid.uuid4()}/documents"
    form = {**caller, "Content-Type": "multipart/form-data; boundary=x"}
    refused = post(ifr, documents, form, HUGE, chunked=False, send=False, timeout_s=10)
    assert problem(refused, 413)["errors"][0]["field"] == "file"  # type: ignore[index]

    streamed = post(ifr, "/api/v1/ifr/requests", json_body, HUGE, chunked=True)
    problem(streamed, 413)
    part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n'
    streamed_form = post(ifr, documents, form, HUGE, chunked=True, prefix=part)
    problem(streamed_form, 413)
    grown = peak_rss(pid) - before
    print(
        f"ifr-service: 2 x 300 MB streamed with a token (sent {streamed.sent / MB:.0f} + "
        f"{streamed_form.sent / MB:.0f} MB), peak RSS {before / MB:.0f} MB + {grown / MB:.1f} MB"
    )
    assert grown < FLAT, f"peak memory grew by {grown / MB:.0f} MB"
    assert httpx.get(f"{ifr}/health/live").status_code == 200


async def test_the_json_limit_and_an_upload_limit_in_process(stack: TestStack) -> None:
    async with stack.service("contract", run_workers=False, drug_return_max_bytes=2000) as svc:
        caller = stack.auth("RRV", "trust_finance")
        over = await svc.client.post(
            "/api/v1/contracts", content=b" " * (MB + 1), headers={**caller, "Content-Type": "application/json"}
        )
        assert over.status_code == 413 and over.json()["errors"][0]["field"] == "body"
        assert over.json()["correlation_id"] == over.headers["x-correlation-id"]
        under = await svc.client.post("/api/v1/contracts", content=b"{}", headers=caller)
        assert under.status_code in (403, 422)  # read and judged by the route as before
        csv = "nhs_number,dmd_id,indication,administered_on,quantity,cost,approval_reference\n" + "x," * 1000
        query = {"provider_ods": "RRV", "period": "2026-05", "submission_id": "big"}
        big = await svc.client.post(
            "/api/v1/drug-returns", content=csv, params=query, headers={**caller, "Content-Type": "text/csv"}
        )
        assert big.status_code == 413, big.text
        assert big.json()["max_bytes"] == 2000
