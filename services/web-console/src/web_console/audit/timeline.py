"""One timeline from the four services' audit trails: their pages merged newest first, a position to go
on from in each, and the services that did not answer named rather than failing the page.

Each service pages its own trail by (at, id); a merged page takes the newest rows of all the services'
next pages, and each service's position moves past the rows shown of it only (every row carries the
cursor that continues after it), so no row is skipped or shown twice however the services interleave.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casework.clock import LONDON
from casework.csv_export import csv_text
from web_console.apis import Apis, ServiceApi, ServiceUnavailable
from web_console.labels import audit_action, audit_record

SERVICES = ("ifr", "cdf", "contract", "notification")
SERVICE_NAMES = {"ifr": "IFR", "cdf": "CDF", "contract": "Contracts", "notification": "Mail"}
CSV_COLUMNS = ("service", "at", "actor", "actor_org", "action", "entity_type", "entity_id", "reason", "detail")

Ask = Callable[[ServiceApi, str | None], Awaitable[dict[str, Any]]]


@dataclass
class Position:
    """Where each service's trail goes on from (its cursor; a service with no more rows is left out), and
    the services that did not answer on an earlier page, still named on the later ones."""

    cursors: dict[str, str | None] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)

    @classmethod
    def first(cls) -> Position:
        return cls({name: None for name in SERVICES}, set())

    @classmethod
    def decode(cls, token: str) -> Position:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token.encode()))
            cursors = {str(k): (str(v) if v else None) for k, v in raw["cursors"].items() if k in SERVICES}
            return cls(cursors, {s for s in raw["unanswered"] if s in SERVICES})
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls.first()

    def encode(self) -> str:
        raw = {"cursors": self.cursors, "unanswered": sorted(self.unanswered)}
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()

    @property
    def more(self) -> bool:
        return bool(self.cursors)


@dataclass
class Timeline:
    entries: list[dict[str, Any]]
    unanswered: list[str]
    position: Position
    records: dict[str, int]


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["at"]).replace("Z", "+00:00"))


async def _asked(api: ServiceApi, ask: Ask, cursor: str | None) -> dict[str, Any] | None:
    try:
        return await ask(api, cursor)
    except ServiceUnavailable:
        return None


async def merged(apis: Apis, ask: Ask, position: Position, limit: int) -> Timeline:
    """The next `limit` rows of every service's trail after `position`, newest first."""
    names = list(position.cursors)
    pages = await asyncio.gather(*(_asked(getattr(apis, n), ask, position.cursors[n]) for n in names))
    answered = {n: p for n, p in zip(names, pages, strict=True) if p is not None}
    rows = [{**e, "service": n} for n, p in answered.items() for e in p["items"]]
    rows.sort(key=lambda e: (_at(e), e["service"], e["id"]), reverse=True)
    shown = rows[:limit]
    unanswered = [n for n in names if n not in answered]
    after = Position({}, position.unanswered | set(unanswered))
    for name, page in answered.items():
        own = [e for e in shown if e["service"] == name]
        if len(own) < len(page["items"]):
            after.cursors[name] = own[-1]["cursor"] if own else position.cursors[name]
        elif page.get("next_cursor"):
            after.cursors[name] = page["next_cursor"]
    records = {n: int(p["records"]) for n, p in answered.items() if p.get("records") is not None}
    return Timeline(shown, sorted(after.unanswered, key=SERVICES.index), after, records)


def when(value: Any) -> str:
    """To the second, in UK time: an audit is read for the order things happened in."""
    local = _at({"at": value}).astimezone(LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M:%S}"


def why(entry: dict[str, Any]) -> str:
    """The reason recorded, else what the detail says in words (the records a list or search named are
    counted, not listed)."""
    detail = entry.get("detail") or {}
    said = [entry["reason"]] if entry.get("reason") else []
    for key, value in detail.items():
        if key == "ids":
            said.append(f"{len(value)} {'record' if len(value) == 1 else 'records'} shown")
        elif key == "by":
            said.append("by NHS number" if value == "nhs_number" else f"by {value}")
        elif key not in ("found",) and not isinstance(value, dict | list):
            said.append(f"{key.replace('_', ' ')}: {value}")
    if "found" in detail:
        said.append(f"{detail['found']} found")
    return "; ".join(str(s) for s in said)


def shown_row(entry: dict[str, Any]) -> dict[str, str]:
    kind, record_id = audit_record(entry["entity_type"], entry["entity_id"])
    return {
        "service": SERVICE_NAMES.get(entry["service"], entry["service"]),
        "when": when(entry["at"]),
        "who": entry["actor"],
        "organisation": entry.get("actor_org") or "",
        "action": audit_action(entry["action"]),
        "record": kind,
        "record_id": record_id,
        "why": why(entry),
    }


Export = Callable[[ServiceApi], Awaitable[str]]


async def merged_csv(apis: Apis, export: Export) -> tuple[str, list[str]]:
    """Every service's CSV export of the same question (each audited there as an export), as one file
    newest first, and the services that did not answer (named in the file's last rows too)."""
    answers = await asyncio.gather(*(_csv_of(getattr(apis, n), export) for n in SERVICES))
    rows = [row for text in answers if text is not None for row in csv.DictReader(io.StringIO(text))]
    dated = sorted((r for r in rows if r.get("at")), key=lambda r: r["at"], reverse=True)
    notes = [r for r in rows if not r.get("at")]  # a service's "cut at" note
    missing = [n for n, text in zip(SERVICES, answers, strict=True) if text is None]
    notes += [{"service": n, "action": "did not answer: its rows are missing"} for n in missing]
    return csv_text(CSV_COLUMNS, [*dated, *notes]), missing


async def _csv_of(api: ServiceApi, export: Export) -> str | None:
    try:
        return await export(api)
    except ServiceUnavailable:
        return None
