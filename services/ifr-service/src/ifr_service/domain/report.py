"""The quarterly national data return, as pure aggregation over case summaries.

Counts what happened in the quarter (received, screened out by reason, redirected, heard by panel and
the outcomes, reconsiderations, reviews and their outcomes, withdrawn), overall, by treatment and by
trust, and timeliness against each stage clock: clocks stopped in the quarter on or before their due
date (met) or after it (missed), and clocks still open and past due at the quarter's end.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ifr_service.domain.clocks import TEAM_CLOCKS, Clock


class Milestone:
    RECEIVED = "received"
    SCREENED_OUT = "screened_out"
    REDIRECTED = "redirected"
    DECISION = "decision"  # an IFR panel decision (first hearing, reconsideration or after a flawed review)
    RECONSIDERATION_REQUESTED = "reconsideration_requested"
    REVIEW_REQUESTED = "review_requested"
    REVIEW_DECIDED = "review_decided"
    WITHDRAWN = "withdrawn"
    CHAIRS_ACTION = "chairs_action"  # an urgent decision by the chair, in effect at once
    RATIFIED = "ratified"  # a panel confirmed a chair's action
    OVERTURNED = "overturned"  # a panel replaced a chair's action with its own decision


@dataclass(frozen=True)
class Event:
    kind: str
    on: date
    outcome: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClockRecord:
    clock: str
    due_date: date
    stopped_on: date | None
    cancelled: bool
    paused: bool = False


@dataclass(frozen=True)
class CaseSummary:
    provider_ods: str
    treatment: str
    events: tuple[Event, ...] = ()
    clocks: tuple[ClockRecord, ...] = field(default_factory=tuple)


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def quarter_bounds(label: str) -> tuple[date, date]:
    """First and last day of a calendar quarter written `2026-Q3` (1 July - 30 September 2026)."""
    match = _QUARTER.match(label)
    if not match:
        raise ValueError("quarter must look like 2026-Q3")
    year, q = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * q - 2, 1)
    end = date(year + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def financial_quarter(start: date) -> str:
    """The same period named as the NHS financial year does (Q1 = April - June)."""
    fy_start = start.year if start.month >= 4 else start.year - 1
    q = ((start.month - 4) % 12) // 3 + 1
    return f"{fy_start}/{(fy_start + 1) % 100:02d} Q{q}"


COUNTERS = (
    "received",
    "screened_out",
    "redirected",
    "heard_by_panel",
    "approved",
    "approved_with_conditions",
    "declined",
    "reconsiderations_requested",
    "reviews_requested",
    "reviews_upheld",
    "reviews_flawed",
    "withdrawn",
    "decided_by_chairs_action",
    "ratified",
    "overturned",
)


def _counts(cases: Iterable[CaseSummary], start: date, end: date) -> tuple[Counter[str], Counter[str]]:
    counts: Counter[str] = Counter({c: 0 for c in COUNTERS})
    reasons: Counter[str] = Counter()
    for case in cases:
        for e in case.events:
            if not start <= e.on <= end:
                continue
            if e.kind == Milestone.RECEIVED:
                counts["received"] += 1
            elif e.kind == Milestone.SCREENED_OUT:
                counts["screened_out"] += 1
                reasons.update(e.reasons)
            elif e.kind == Milestone.REDIRECTED:
                counts["redirected"] += 1
            elif e.kind == Milestone.DECISION:
                counts["heard_by_panel"] += 1
                counts[str(e.outcome)] += 1
            elif e.kind == Milestone.RECONSIDERATION_REQUESTED:
                counts["reconsiderations_requested"] += 1
            elif e.kind == Milestone.REVIEW_REQUESTED:
                counts["reviews_requested"] += 1
            elif e.kind == Milestone.REVIEW_DECIDED:
                counts[f"reviews_{e.outcome}"] += 1
            elif e.kind == Milestone.WITHDRAWN:
                counts["withdrawn"] += 1
            elif e.kind == Milestone.CHAIRS_ACTION:  # a decision in effect, not a panel hearing
                counts["decided_by_chairs_action"] += 1
                counts[str(e.outcome)] += 1
            elif e.kind == Milestone.RATIFIED:
                counts["ratified"] += 1
            elif e.kind == Milestone.OVERTURNED:  # the panel's own decision replaces the chair's
                counts["overturned"] += 1
                counts["heard_by_panel"] += 1
                counts[str(e.outcome)] += 1
    return counts, reasons


def _timeliness(cases: Iterable[CaseSummary], start: date, end: date, as_of: date) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        str(c): {"met": 0, "missed": 0, "open_overdue": 0} for c in Clock if c in TEAM_CLOCKS
    }
    for case in cases:
        for c in case.clocks:
            if c.clock not in out or c.cancelled:
                continue
            row = out[c.clock]
            if c.stopped_on is not None and start <= c.stopped_on <= end:
                row["met" if c.stopped_on <= c.due_date else "missed"] += 1
            elif (c.stopped_on is None or c.stopped_on > as_of) and not c.paused and c.due_date < as_of:
                row["open_overdue"] += 1
    for row in out.values():
        done = row["met"] + row["missed"]
        row["met_pct"] = round(100 * row["met"] / done, 1) if done else None
    return out


def quarterly_return(cases: list[CaseSummary], label: str, today: date | None = None) -> dict[str, Any]:
    """The return for quarter `label`; clocks count as open and overdue at the quarter's end, or today
    while the quarter is still running."""
    start, end = quarter_bounds(label)
    as_of = min(end, today) if today else end
    totals, reasons = _counts(cases, start, end)
    by_treatment = _grouped(cases, start, end, lambda c: c.treatment)
    by_trust = _grouped(cases, start, end, lambda c: c.provider_ods)
    return {
        "quarter": label,
        "period_start": start,
        "period_end": end,
        "financial_quarter": financial_quarter(start),
        "totals": dict(totals),
        "screened_out_by_reason": dict(sorted(reasons.items())),
        "by_treatment": by_treatment,
        "by_trust": by_trust,
        "as_of": as_of,
        "timeliness": _timeliness(cases, start, end, as_of),
    }


def _grouped(cases: list[CaseSummary], start: date, end: date, key: Any) -> dict[str, dict[str, int]]:
    groups: dict[str, list[CaseSummary]] = {}
    for case in cases:
        groups.setdefault(key(case), []).append(case)
    result = {}
    for name, members in sorted(groups.items()):
        counts, _ = _counts(members, start, end)
        if any(counts.values()):
            result[name] = dict(counts)
    return result


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The return as long-format rows (section, group, measure, value) for a spreadsheet."""
    rows: list[dict[str, Any]] = []
    base = {"quarter": report["quarter"]}
    rows += [{**base, "section": "totals", "group": "", "measure": k, "value": v} for k, v in report["totals"].items()]
    rows += [
        {**base, "section": "screened_out_by_reason", "group": reason, "measure": "screened_out", "value": n}
        for reason, n in report["screened_out_by_reason"].items()
    ]
    for section in ("by_treatment", "by_trust"):
        for group, counts in report[section].items():
            rows += [{**base, "section": section, "group": group, "measure": k, "value": v} for k, v in counts.items()]
    for clock, row in report["timeliness"].items():
        rows += [{**base, "section": "timeliness", "group": clock, "measure": k, "value": v} for k, v in row.items()]
    return rows


CSV_COLUMNS = ("quarter", "section", "group", "measure", "value")
