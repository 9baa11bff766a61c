"""One trace from a trust's SACT upload to the mail it ends in, across three services as deployed.

cdf-service, contract-service and notification-service run in their own processes (`casework serve`)
with TRACE_FILE set, so each writes its finished spans as JSON lines. The trust's system sends its
own `traceparent` with the upload; the spans that follow must all carry that trace id and hang
together: the upload request (cdf), the SACT worker's processing of the stored submission (its
context kept with the row), contract-service handling the forecast event (its context carried in
the Kafka headers from the outbox), notification-service handling the at-risk alert, and the sending
of the mail it queued (the context kept with the queued mail). Then /metrics of the same processes:
the lag of each consumer group reaches 0, the outbox holds nothing old, no mail waits.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from contract_fixtures import add_line, commissioner, create_contract, new_nhs_number, new_provider
from samples import approved_course_starting_today, sact_csv

from casework.financial_year import financial_year_of
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack, eventually

SERVICES = ("cdf", "contract", "notification")
FAST = {"FORECAST_INTERVAL_S": "0.2", "SACT_POLL_INTERVAL_S": "0.2", "OTEL_BSP_SCHEDULE_DELAY": "100"}
# The served notification-service joins the session's one notification group and may first meet events of
# earlier tests that no notification service read yet: their mails must not hold this flow's mail back.
SENDER = {"SEND_RATE_PER_S": "1000", "SEND_RATE_BURST": "100", "SEND_POLL_INTERVAL_S": "0.05"}


@contextmanager
def traced_services(stack: TestStack, folder: Path) -> Iterator[dict[str, str]]:
    """The three services served, each writing its spans to <folder>/<service>.jsonl; their base URLs."""
    with ExitStack() as running:
        urls = {
            name: running.enter_context(
                stack.served(
                    name,
                    database=f"trace_{name}",
                    TRACE_FILE=str(folder / f"{name}.jsonl"),
                    **FAST,
                    **(SENDER if name == "notification" else {}),
                )
            )
            for name in SERVICES
        }
        yield urls


def spans_of(folder: Path, service: str, trace_id: str) -> list[dict[str, Any]]:
    path = folder / f"{service}.jsonl"
    if not path.exists():
        return []
    spans = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [s for s in spans if s["context"]["trace_id"] == trace_id]


def named(spans: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["name"] == name]


def metric(text: str, name: str, **labels: str) -> list[float]:
    """The values of `name` whose labels include `labels`."""
    values = []
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            values.append(float(match.group(2)))
    return values


async def test_one_trace_from_the_sact_upload_to_the_at_risk_mail(stack: TestStack, tmp_path: Path) -> None:
    trust = new_provider()
    fy = financial_year_of(date.today()).financial_year
    trace_id = f"{random.getrandbits(128):032x}"
    trusts_span = f"{random.getrandbits(64):016x}"
    with traced_services(stack, tmp_path) as urls:
        async with (
            httpx.AsyncClient(base_url=urls["cdf"]) as cdf,
            httpx.AsyncClient(base_url=urls["contract"]) as contract,
        ):
            contract_id = (await create_contract(contract, stack, trust, fy))["id"]
            course = await approved_course_starting_today(cdf, stack, trust, new_nhs_number())

            async def outturn() -> dict:
                response = await contract.get(
                    "/api/v1/forecast-outturn", params={"provider": trust, "fy": fy}, headers=commissioner(stack)
                )
                assert response.status_code == 200, response.text
                return response.json()

            async def pipeline_forecast() -> Decimal:
                return Decimal((await outturn())["unallocated"]["cdf_forecast_outturn"])

            before = await eventually(pipeline_forecast)
            line = await add_line(
                contract, stack, contract_id, "cdf", str(before), category="cdf", line_name="CDF drugs"
            )

            submitted = await cdf.post(
                "/api/v1/sact/submissions",
                params={"provider_ods": trust, "period": date.today().strftime("%Y-%m"), "submission_id": "traced-1"},
                content=sact_csv(course),
                headers={
                    **stack.auth(trust, "provider_system"),
                    "Content-Type": "text/csv",
                    "traceparent": f"00-{trace_id}-{trusts_span}-01",  # the trust's system traces too
                },
            )
            assert submitted.status_code == 202, submitted.text

            def at_risk_mails() -> list:
                subject = f"Budget at risk: {line['line_name']} at {trust}"
                return [m for m in read_messages(stack.layout.mail) if subject in m["Subject"]]

            [mail] = await eventually(at_risk_mails, within=60)
            assert mail["To"] == "england.specialised-finance@nhs.net"

            traced = f"0x{trace_id}"

            def whole_trace() -> dict[str, list[dict[str, Any]]] | None:
                found = {name: spans_of(tmp_path, name, traced) for name in SERVICES}
                return found if named(found["notification"], "mail send") else None

            spans = await eventually(whole_trace, within=30)
            await _assert_one_connected_trace(spans, trusts_span)

            async with httpx.AsyncClient() as scraper:
                await _assert_metrics_settle(scraper, urls)


async def _assert_one_connected_trace(spans: dict[str, list[dict[str, Any]]], trusts_span: str) -> None:
    cdf, contract, notification = spans["cdf"], spans["contract"], spans["notification"]
    for service, own in spans.items():
        assert own, f"{service}-service has no span of the trace"
        assert {s["resource"]["attributes"]["service.name"] for s in own} == {f"{service}-service"}

    # cdf: the upload request, a child of the trust's span, and the worker's processing of what it stored
    [upload] = [s for s in cdf if s["kind"] == "SpanKind.SERVER"]
    assert upload["attributes"]["http.route"] == "/api/v1/sact/submissions"
    assert upload["parent_id"] == f"0x{trusts_span}"
    [processing] = named(cdf, "sact submission process")
    assert processing["parent_id"] == upload["context"]["span_id"]

    # contract: the forecast event handled in a span whose parent is the processing that emitted it
    [forecast] = named(contract, "cdf.forecast.updated process")
    assert forecast["kind"] == "SpanKind.CONSUMER"
    assert forecast["attributes"]["messaging.consumer.group.name"] == "contract-service"
    assert forecast["parent_id"] == processing["context"]["span_id"]

    # notification: the alert the forecast raised, handled as a child of that handling; the mail it
    # queued sent as a child of the alert's handling
    [alert] = named(notification, "contract.budget.at_risk process")
    assert alert["parent_id"] == forecast["context"]["span_id"]
    [send] = named(notification, "mail send")
    assert send["parent_id"] == alert["context"]["span_id"]
    assert send["attributes"]["casework.template"].startswith("contract_budget_at_risk")
    assert send["status"]["status_code"] == "UNSET"

    # and every span of the trace hangs from another span of it (or from the trust's)
    ids = {s["context"]["span_id"] for own in spans.values() for s in own} | {f"0x{trusts_span}"}
    orphans = [s["name"] for own in spans.values() for s in own if s["parent_id"] not in ids]
    assert orphans == []
    # the statements of the request and the handlers are in the trace too (SQLAlchemy instrumented)
    assert any(s["kind"] == "SpanKind.CLIENT" and s["parent_id"] == forecast["context"]["span_id"] for s in contract)


async def _assert_metrics_settle(scraper: httpx.AsyncClient, urls: dict[str, str]) -> None:
    """Once everything is handled, sent and published: every partition's lag 0, no old outbox row, no
    mail waiting (polled: an event or mail of the flow may still be on its way at the first scrape)."""

    async def settled() -> dict[str, str] | None:
        texts = {name: (await scraper.get(f"{url}/metrics")).text for name, url in urls.items()}
        for name in ("contract", "notification"):
            lags = metric(texts[name], "casework_consumer_lag", group=f"{name}-service")
            if not lags or any(lag != 0 for lag in lags):
                return None
        outbox_ages = [metric(texts[n], "casework_outbox_oldest_unpublished_age_seconds", service=n) for n in urls]
        if outbox_ages != [[0.0]] * len(urls):
            return None
        return texts if metric(texts["notification"], "notification_oldest_queued_mail_age_seconds") == [0.0] else None

    texts = await eventually(settled, within=30)
    # contract-service reads cdf.events (among others) and reports each partition it holds
    partitions = metric(texts["contract"], "casework_consumer_lag", group="contract-service", topic="cdf.events")
    assert len(partitions) >= 1
