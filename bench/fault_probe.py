"""Fault probes under load: each component killed or stopped mid-burst, then every effect counted.

The whole platform runs as deployed (the four services as `casework serve` processes with their workers,
on the test stack's PostgreSQL, Tansu broker and mail relay). For each fault a fresh burst runs: CDF
applications (each approved: an application row, a contract commitment, two notifications mailed) and
IFR requests (drafted, submitted, acknowledged: one notification mailed), posted at a steady rate by
clients that behave as a trust's system should: a connection error or a 502/503/504 is retried after a
short backoff with the same Idempotency-Key (or, for an action, by reading the case back first).
Half-way through the burst the fault fires:

    broker        SIGKILL of the broker (its log is in memory: it comes back empty), restarted at once
    ifr, cdf, contract, notification
                  SIGKILL of that service's process, restarted on the same port after 1 s
    postgres      PostgreSQL stopped (immediate) for --outage seconds, then started again
    relay         the SMTP relay stopped for --outage seconds, then started again

Once the burst is done the probe waits for every outbox to drain and the mail queue to empty, then
counts, for each intended effect: lost (missing), doubled (more than one), and every response the
clients saw by status (a 500 is a server error the client did not cause; 503 while a dependency is
down is the contract). The baseline is a burst with no fault, in the same run.

    .venv/bin/python -m bench.fault_probe [--approvals 200] [--ifr 50] [--rate 40] [--outage 20]
                                          [--faults none,broker,ifr,cdf,contract,notification,postgres,relay]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from samples import APPLICATION, prepare_cdf

from bench.harness import infrastructure, print_table
from casework.services import SERVICE_NAMES
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.mail_relay import delivery_counts
from embedded_stack.testing import TestStack
from ifr_service.api.examples import APPLICATION_EXAMPLE

RETRIED = {502, 503, 504}
REQUEST_TIMEOUT_S = 30.0
GIVE_UP_AFTER_S = 180.0  # a client retrying longer than this has lost the request: counted as lost


@dataclass
class Responses:
    """What the clients saw: every response's status, and connection errors, across the burst."""

    statuses: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    abandoned: int = 0

    def saw(self, what: str) -> None:
        self.statuses[what] += 1


class Platform:
    """The four services served as processes on the stack's own ports; each can be killed and restarted."""

    def __init__(self, stack: TestStack) -> None:
        self.stack = stack
        self._running: dict[str, ExitStack] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.stack.layout.ports.services[name]}"

    def start(self, name: str, attempts: int = 3) -> None:
        """Served on its port; a start that misses its ready wait (a busy machine) is tried again."""
        port = self.stack.layout.ports.services[name]
        for attempt in range(attempts):
            context = ExitStack()
            try:
                context.enter_context(self.stack.served(name, database=f"probe_{name}", port=port, LOG_LEVEL="WARNING"))
            except TimeoutError:
                if attempt == attempts - 1:
                    raise
                continue
            self._running[name] = context
            return

    def kill(self, name: str) -> None:
        self.stack.processes[self.url(name)].kill()  # SIGKILL: no shutdown of any kind
        self._running.pop(name).close()  # reaps the dead process

    def stop_all(self) -> None:
        for context in self._running.values():
            context.close()
        self._running.clear()

    @contextmanager
    def running(self) -> Iterator[Platform]:
        for name in SERVICE_NAMES:  # one at a time: on a busy machine four starts at once miss their ready wait
            self.start(name)
        try:
            yield self
        finally:
            self.stop_all()


async def call(
    client: httpx.AsyncClient, seen: Responses, method: str, url: str, **kwargs: Any
) -> httpx.Response | None:
    """One request as a careful client makes it: retried on a connection error or a 502/503/504 (the
    request carries its own Idempotency-Key where it creates), None when it never got an answer."""
    started, backoff = time.monotonic(), 0.2
    while True:
        try:
            response = await client.request(method, url, **kwargs)
            seen.saw(str(response.status_code))
            if response.status_code not in RETRIED:
                return response
        except httpx.TransportError as error:
            seen.saw(type(error).__name__)
        if time.monotonic() - started > GIVE_UP_AFTER_S:
            seen.abandoned += 1
            return None
        seen.retries += 1
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 2.0)


async def apply_cdf(client: httpx.AsyncClient, stack: TestStack, seen: Responses, number: int) -> None:
    body = {**APPLICATION, "nhs_number": nhs_number_for(number)}
    headers = {**stack.auth("RRV", "clinician"), "Idempotency-Key": f"probe-cdf-{number}"}
    await call(client, seen, "POST", "/api/v1/cdf/applications", json=body, headers=headers)


async def ifr_case(client: httpx.AsyncClient, stack: TestStack, seen: Responses, run: str, number: int) -> None:
    """Drafted, submitted and acknowledged; an action retried after a lost answer reads the case first."""
    clinician = stack.auth("RRV", "clinician")
    officer = stack.auth("X24", "ifr_officer")
    body = {**APPLICATION_EXAMPLE, "patient": {**APPLICATION_EXAMPLE["patient"], "nhs_number": nhs_number_for(number)}}
    draft = await call(
        client,
        seen,
        "POST",
        "/api/v1/ifr/requests",
        json=body,
        headers={**clinician, "Idempotency-Key": f"probe-ifr-{run}-{number}"},
    )
    if draft is None or draft.status_code != 201:
        return
    case_id = draft.json()["id"]
    for action, caller, from_state in (("submit", clinician, "draft"), ("acknowledge", officer, "received")):
        if not await _act(client, seen, case_id, action, caller, from_state):
            return


async def _act(
    client: httpx.AsyncClient, seen: Responses, case_id: str, action: str, caller: dict[str, str], from_state: str
) -> bool:
    """The action taken once: the case is read first, so an action whose answer was lost (the service
    killed after its commit) is seen done rather than taken again."""
    for _ in range(5):
        case = await call(client, seen, "GET", f"/api/v1/ifr/requests/{case_id}", headers=caller)
        if case is None or case.status_code != 200:
            return False
        if case.json()["state"] != from_state:
            return True  # taken already (its answer was lost), or by someone else
        headers = {**caller, "If-Match": case.headers["ETag"]}
        acted = await call(client, seen, "POST", f"/api/v1/ifr/requests/{case_id}/{action}", headers=headers)
        if acted is not None and acted.status_code == 200:
            return True
    return False


FaultAction = Callable[[], Awaitable[None]]


def faults(platform: Platform, outage_s: float) -> dict[str, FaultAction]:
    stack = platform.stack

    async def broker() -> None:
        assert stack.broker.process is not None
        stack.broker.process.kill()
        stack.broker.process.wait()
        stack.broker.start()  # the same port, an empty log

    def service(name: str) -> FaultAction:
        async def kill_and_restart() -> None:
            platform.kill(name)
            await asyncio.sleep(1)
            await asyncio.to_thread(platform.start, name)

        return kill_and_restart

    async def postgres() -> None:
        await asyncio.to_thread(stack.postgres.stop, "immediate")
        await asyncio.sleep(outage_s)
        await asyncio.to_thread(stack.postgres.start)

    async def relay() -> None:
        stack.relay.stop()
        await asyncio.sleep(outage_s)
        stack.relay.start()

    async def none() -> None:
        return None

    return {
        "none": none,
        "broker": broker,
        **{name: service(name) for name in SERVICE_NAMES},
        "postgres": postgres,
        "relay": relay,
    }


@dataclass
class Burst:
    fault: str
    cdf_numbers: list[int]
    ifr_numbers: list[int]
    seen: Responses
    seconds: float
    fault_at_s: float


async def burst(
    platform: Platform, fault: str, action: FaultAction, first: int, approvals: int, ifr: int, rate: float
) -> Burst:
    stack, seen = platform.stack, Responses()
    run = uuid.uuid4().hex[:6]
    cdf_numbers = list(range(first, first + approvals))
    ifr_numbers = list(range(first + approvals, first + approvals + ifr))
    work: list[Callable[[httpx.AsyncClient, httpx.AsyncClient], Awaitable[None]]] = [
        *(lambda cdf, _, n=n: apply_cdf(cdf, stack, seen, n) for n in cdf_numbers),
        *(lambda _, case, n=n: ifr_case(case, stack, seen, run, n) for n in ifr_numbers),
    ]
    work = work[::2] + work[1::2]  # IFR cases among the approvals, not after them
    half = len(work) / rate / 2
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    async with (
        httpx.AsyncClient(base_url=platform.url("cdf"), timeout=timeout) as cdf,
        httpx.AsyncClient(base_url=platform.url("ifr"), timeout=timeout) as case,
    ):
        started = time.monotonic()
        tasks = []
        fault_task = asyncio.create_task(_after_delay(half, action))
        for i, item in enumerate(work):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(item(cdf, case)))
        await asyncio.gather(*tasks)
        await fault_task
        return Burst(fault, cdf_numbers, ifr_numbers, seen, time.monotonic() - started, half)


async def _after_delay(delay: float, action: FaultAction) -> None:
    await asyncio.sleep(delay)
    await action()


class Effects:
    """What the platform's databases and the relay's mailbox hold for a burst, counted straight from them."""

    def __init__(self, stack: TestStack) -> None:
        self.stack = stack

    async def _rows(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        url = self.stack.database_url(f"probe_{service}").replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def settled(self) -> bool:
        """Every outbox published and no mail queued or being sent."""
        for service in SERVICE_NAMES:
            unpublished = await self._rows(service, "SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
            if unpublished[0][0]:
                return False
        queued = await self._rows(
            "notification", "SELECT count(*) FROM notifications WHERE status IN ('queued', 'sending')"
        )
        return queued[0][0] == 0

    async def count(self, b: Burst) -> dict[str, Any]:
        stack = self.stack
        from casework.identifiers import patient_ref

        key = stack.layout.service_env("cdf")["PATIENT_REF_KEY"]
        cdf_refs = {patient_ref(nhs_number_for(n), key): n for n in b.cdf_numbers}
        ifr_refs = {patient_ref(nhs_number_for(n), key): n for n in b.ifr_numbers}
        applications = await self._rows(
            "cdf",
            "SELECT patient_ref, reference, status FROM applications WHERE patient_ref = ANY($1::text[])",
            list(cdf_refs),
        )
        references = [r["reference"] for r in applications]
        commitments = await self._rows(
            "contract",
            "SELECT source_reference FROM commitments WHERE source = 'cdf' AND source_reference = ANY($1::text[])",
            references,
        )
        recorded = await self._rows(
            "contract",
            "SELECT envelope->'data'->>'source_reference' AS reference FROM outbox_events"
            " WHERE event_type = 'contract.commitment.recorded'"
            " AND envelope->'data'->>'source_reference' = ANY($1::text[])",
            [str(r) for r in references],
        )
        cases = await self._rows(
            "ifr",
            "SELECT reference, state AS status FROM ifr_requests WHERE patient_ref = ANY($1::text[])",
            list(ifr_refs),
        )
        mails = await self._rows(
            "notification",
            "SELECT case_reference, template, recipient, message_id, status FROM notifications"
            " WHERE case_reference = ANY($1::text[])",
            references + [r["reference"] for r in cases],
        )
        delivered = delivery_counts(stack.layout.mail)
        per_patient = Counter(r["patient_ref"] for r in applications)
        per_mail = Counter((m["case_reference"], m["template"], m["recipient"]) for m in mails)
        cdf_mails = [m for m in mails if m["template"] == "cdf_application_approved"]
        ifr_mails = [m for m in mails if m["template"] == "ifr_request_acknowledged"]
        deliveries = [delivered.get(m["message_id"], 0) for m in mails]
        acknowledged = [c for c in cases if c["status"] == "acknowledged"]
        return {
            "fault": b.fault,
            "cdf_sent": len(b.cdf_numbers),
            "approved": len(per_patient),
            "commitments": len(set(r["source_reference"] for r in commitments)),
            "cdf_mails": len(cdf_mails),
            "ifr_sent": len(b.ifr_numbers),
            "ifr_acked": len(acknowledged),
            "ifr_mails": len(ifr_mails),
            "lost": (
                (len(b.cdf_numbers) - len(per_patient))
                + (len(references) - len(set(r["source_reference"] for r in commitments)))
                + (2 * len(references) - len(cdf_mails))
                + (len(b.ifr_numbers) - len(acknowledged))
                + (len(acknowledged) - len(ifr_mails))
                + sum(1 for d in deliveries if d == 0)
            ),
            "doubled": (
                sum(c - 1 for c in per_patient.values())
                + (len(recorded) - len(set(r["reference"] for r in recorded)))
                + sum(c - 1 for c in per_mail.values())
                + sum(d - 1 for d in deliveries if d > 1)
            ),
            "http_500": b.seen.statuses.get("500", 0),
            "http_503": b.seen.statuses.get("503", 0),
            "conn_errors": sum(v for k, v in b.seen.statuses.items() if not k.isdigit()),
            "retries": b.seen.retries,
            "abandoned": b.seen.abandoned,
            "burst_s": round(b.seconds, 1),
        }


async def until_settled(effects: Effects, burst: Burst, within_s: float, still_s: float = 30.0) -> float:
    """Wait until the burst's effects are all there, or nothing has moved for `still_s` with the outboxes
    drained and no mail queued (an empty outbox alone is not the end: a consumer may still be catching up,
    or waiting out a commit bound after a broker restart), or `within_s` has passed."""
    started = time.monotonic()
    last: dict[str, Any] = {}
    moved = started
    complete = 0
    while time.monotonic() - started < within_s:
        await asyncio.sleep(1)
        try:
            drained = await effects.settled()
            now = await effects.count(burst)
        except (OSError, asyncpg.PostgresError):
            continue
        if now != last:
            last, moved = now, time.monotonic()
        complete = complete + 1 if drained and now["lost"] == 0 else 0
        if complete >= 3 or (drained and time.monotonic() - moved >= still_s):
            break
    return time.monotonic() - started


async def main(args: argparse.Namespace) -> None:
    async with infrastructure() as stack:
        platform = Platform(stack)
        with platform.running():
            async with httpx.AsyncClient(base_url=platform.url("cdf"), timeout=30) as client:
                await prepare_cdf(client, stack)
            actions = faults(platform, args.outage)
            effects = Effects(stack)
            table = []
            first = 70_000
            for fault in args.faults.split(","):
                started = time.monotonic()
                b = await burst(platform, fault, actions[fault], first, args.approvals, args.ifr, args.rate)
                first += args.approvals + args.ifr
                drained = await until_settled(effects, b, within_s=300)
                row = await effects.count(b)
                row["settled_s"] = round(drained, 1)
                table.append(row)
                print(f"{fault}: {row} ({time.monotonic() - started:.0f} s)", flush=True)
    print_table(
        f"fault probes: {args.approvals} CDF approvals + {args.ifr} IFR cases per burst at {args.rate}/s", table
    )
    failed = [r["fault"] for r in table if r["lost"] or r["doubled"] or r["http_500"]]
    print("every probe: 0 lost, 0 doubled, 0 client 500s" if not failed else f"FAILED: {failed}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--approvals", type=int, default=200)
    parser.add_argument("--ifr", type=int, default=50)
    parser.add_argument("--rate", type=float, default=40.0, help="new CDF applications and IFR cases a second")
    parser.add_argument("--outage", type=float, default=20.0, help="seconds PostgreSQL and the relay stay down")
    parser.add_argument("--faults", default="none,broker,ifr,cdf,contract,notification,postgres,relay")
    asyncio.run(main(parser.parse_args()))
