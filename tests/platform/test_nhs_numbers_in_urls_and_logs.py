"""NHS numbers stay out of URLs and logs: `?nhs_number=` is refused on every service (search with a
POST body instead), and what still carries one (a URL, an error's text) is scrubbed from the log line.
The services run as deployed, with access logs on; their log files are then searched for the numbers."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx

from casework.patient_data import nhs_numbers_in
from casework.services import SERVICE_NAMES
from embedded_stack.testing import TestStack

NHS = "9434765919"  # valid (Modulus 11), as are the others
PRINTED = "401 023 2137"
LISTS = {
    "ifr": "/api/v1/ifr/requests",
    "cdf": "/api/v1/cdf/applications",
    "contract": "/api/v1/contracts",
    "notification": "/api/v1/notifications",
}


def test_nhs_numbers_are_refused_in_urls_and_never_reach_a_log(stack: TestStack) -> None:
    admin = stack.auth("X24", "admin")
    with ExitStack() as running:
        urls = {
            name: running.enter_context(
                stack.served(name, database=f"{name}_nhs_logs", LOG_LEVEL="INFO", RUN_WORKERS="false")
            )
            for name in SERVICE_NAMES
        }
        logs = {name: _log(stack, url, name) for name, url in urls.items()}
        with httpx.Client(headers=admin, timeout=30) as client:
            for name, url in urls.items():
                for value in (NHS, PRINTED, "not-a-number"):
                    refused = client.get(f"{url}{LISTS[name]}", params={"nhs_number": value})
                    assert refused.status_code == 422, (name, refused.text)
                    assert refused.json()["errors"][0] == {
                        "field": "nhs_number",
                        "message": "an NHS number is not accepted in a URL (access logs keep URLs); "
                        "search with a POST body",
                        "type": "identifier_in_url",
                    }
                client.get(f"{url}{LISTS[name]}/{NHS}")  # a number where an id belongs: 404 or 422
                client.get(f"{url}/no-such-path", params={"patient": PRINTED})
            for name, path in (("ifr", "/api/v1/ifr/requests/search"), ("cdf", "/api/v1/cdf/applications/search")):
                found = client.post(f"{urls[name]}{path}", json={"nhs_number": PRINTED})
                assert found.status_code == 200 and found.json()["items"] == [], found.text
                refused = client.post(f"{urls[name]}{path}", json={"nhs_number": NHS, "reference": "X-1"})
                assert refused.status_code == 422
            drafted = client.post(
                f"{urls['ifr']}/api/v1/ifr/requests",
                json={"patient": {"nhs_number": NHS}},
                headers={**stack.auth("RRV", "clinician"), "Idempotency-Key": str(uuid.uuid4())},
            )
            assert drafted.status_code == 201, drafted.text
    for name, log in logs.items():
        text = log.read_text()
        assert f"GET {LISTS[name]}?nhs_number=[NHS number] HTTP/1.1" in text, f"{name}: no access log line"
        assert nhs_numbers_in(text) == [], f"{name}: NHS numbers in {log}"


def _log(stack: TestStack, url: str, name: str) -> Path:
    return stack.layout.logs / f"{name}-{url.rsplit(':', 1)[1]}.log"
