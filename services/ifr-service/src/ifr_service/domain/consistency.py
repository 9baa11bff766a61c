"""Decision consistency across regions and panels, as pure aggregation over the period's requests.

The requests counted are those received in the period, each once, with where it stands now: screened
out, or decided by its standing decision (the latest of a panel's decisions, a reconsideration or a
chair's action; a review panel's finding is not a decision on funding), or neither yet.

- **Approval rate** = approved (with or without conditions) / decided (approved + declined), with its
  95% **Wilson score interval** (`scipy.stats.binomtest(...).proportion_ci(method="wilson")`).
- **Time to decision against the clocks**: for the clocks started on receipt (`screening_outcome`,
  `panel_decision`), how many stopped on or before their due date (met), after it (missed), and how many
  are still open and past due on the day the report is as of; and the median working days from receipt
  to the first decision.
- **The test**: for one treatment, each region (or panel) that decided any of its requests is compared
  with all the others together: a 2x2 table (this group's approved and declined, the rest's approved and
  declined) and **Fisher's exact test**, two-sided (`scipy.stats.fisher_exact`; exact at any count, so
  small regions need no rule of thumb). Every comparison of a family (regions, or panels) across every
  treatment is then corrected by **Holm-Bonferroni**; a group is **flagged** for a treatment when its
  adjusted p-value is below `ALPHA` (0.05). A flag carries the counts behind it. With only two groups
  for a treatment both are flagged together (the difference has no side). The overall figures (all
  treatments together) are shown, not tested: regions see different treatments, so a pooled rate
  mixes case mix with consistency.
- Requests with no region (a trust the mapping does not know) count in the totals, never in a test.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scipy.stats import binomtest, fisher_exact

from casework.working_days import working_days_between
from ifr_service.domain.clocks import Clock
from ifr_service.domain.regions import region_name

ALPHA = 0.05
CONFIDENCE = 0.95
APPROVED_OUTCOMES = frozenset({"approved", "approved_with_conditions"})
DECLINED_OUTCOMES = frozenset({"declined"})
# the clocks a request starts on receipt: the screening outcome and the panel's decision
DECISION_CLOCKS = (Clock.SCREENING_OUTCOME, Clock.PANEL_DECISION)
METHOD = {
    "approval_rate": "approved (with or without conditions) / decided (approved + declined)",
    "interval": "Wilson score interval, 95%",
    "test": "Fisher's exact test, two-sided: each region (or panel) against all the others, per treatment",
    "correction": "Holm-Bonferroni across every comparison of the family (regions; panels) and treatment",
    "alpha": ALPHA,
    "not_tested": "the overall figures (all treatments together), and requests with no region",
}


@dataclass(frozen=True)
class ClockOutcome:
    """One clock started on receipt: its due date and the day it stopped (None while it runs)."""

    clock: str
    due_date: date
    stopped_on: date | None = None
    cancelled: bool = False
    paused: bool = False


@dataclass(frozen=True)
class RequestRecord:
    """A request received in the period and where it stands."""

    treatment: str  # what makes two requests "for the same treatment"
    treatment_name: str
    received_on: date
    region: str | None = None
    panel: str | None = None  # the panel of the standing decision
    outcome: str | None = None  # the standing decision's outcome
    first_decided_on: date | None = None
    screened_out: bool = False
    clocks: tuple[ClockOutcome, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Comparison:
    """One group against the rest for one treatment: the 2x2 table and its p-values."""

    treatment: str
    group: str
    approved: int
    declined: int
    others_approved: int
    others_declined: int
    p_value: float
    adjusted_p_value: float = 1.0

    @property
    def flagged(self) -> bool:
        return self.adjusted_p_value < ALPHA


def wilson_interval(approved: int, decided: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Wilson score interval of approved / decided; None with nothing decided."""
    if decided == 0:
        return None
    ci = binomtest(approved, decided).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def fisher_p(approved: int, declined: int, others_approved: int, others_declined: int) -> float:
    """Two-sided Fisher's exact p-value of one group's approvals against the rest's."""
    _, p = fisher_exact([[approved, declined], [others_approved, others_declined]], alternative="two-sided")
    return float(p)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given (step-down, kept monotone, capped at 1)."""
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def compare(treatment: str, decided: dict[str, tuple[int, int]]) -> list[Comparison]:
    """Each group that decided any request for `treatment` against the rest ((approved, declined) per
    group); nothing when fewer than two groups decided any."""
    groups = {g: ad for g, ad in decided.items() if sum(ad) > 0}
    if len(groups) < 2:
        return []
    total_a = sum(a for a, _ in groups.values())
    total_d = sum(d for _, d in groups.values())
    return [
        Comparison(treatment, g, a, d, total_a - a, total_d - d, fisher_p(a, d, total_a - a, total_d - d))
        for g, (a, d) in sorted(groups.items())
    ]


def corrected(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The family's comparisons with their Holm-adjusted p-values."""
    adjusted = holm([c.p_value for c in comparisons])
    return [
        Comparison(c.treatment, c.group, c.approved, c.declined, c.others_approved, c.others_declined, c.p_value, p)
        for c, p in zip(comparisons, adjusted, strict=True)
    ]


def _rate(approved: int, decided: int) -> dict[str, Any]:
    interval = wilson_interval(approved, decided)
    return {
        "approval_rate": round(approved / decided, 4) if decided else None,
        "approval_interval": {"low": round(interval[0], 4), "high": round(interval[1], 4)} if interval else None,
    }


def _timeliness(records: Iterable[RequestRecord], as_of: date) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {str(c): {"met": 0, "missed": 0, "open_overdue": 0} for c in DECISION_CLOCKS}
    for r in records:
        for c in r.clocks:
            if c.clock not in out or c.cancelled:
                continue
            row = out[c.clock]
            if c.stopped_on is not None and c.stopped_on <= as_of:
                row["met" if c.stopped_on <= c.due_date else "missed"] += 1
            elif not c.paused and c.due_date < as_of:
                row["open_overdue"] += 1
    for row in out.values():
        done = row["met"] + row["missed"]
        row["met_pct"] = round(100 * row["met"] / done, 1) if done else None
    return out


def counts(records: Sequence[RequestRecord], as_of: date) -> dict[str, Any]:
    """Requests, screened out, approved, declined, still undecided; the approval rate with its interval;
    the clocks and the median working days from receipt to the first decision."""
    approved = sum(r.outcome in APPROVED_OUTCOMES for r in records)
    declined = sum(r.outcome in DECLINED_OUTCOMES for r in records)
    screened_out = sum(r.screened_out and r.outcome is None for r in records)
    days = [working_days_between(r.received_on, r.first_decided_on) for r in records if r.first_decided_on]
    return {
        "requests": len(records),
        "screened_out": screened_out,
        "approved": approved,
        "declined": declined,
        "decided": approved + declined,
        "undecided": len(records) - screened_out - approved - declined,
        **_rate(approved, approved + declined),
        "median_working_days_to_decision": statistics.median(days) if days else None,
        "timeliness": _timeliness(records, as_of),
    }


def _grouped(
    records: Iterable[RequestRecord], key: Callable[[RequestRecord], str | None]
) -> dict[Any, list[RequestRecord]]:
    groups: dict[Any, list[RequestRecord]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return groups


def _decided(records: Iterable[RequestRecord]) -> tuple[int, int]:
    rs = list(records)
    return sum(r.outcome in APPROVED_OUTCOMES for r in rs), sum(r.outcome in DECLINED_OUTCOMES for r in rs)


def _family(records: Sequence[RequestRecord], key: Callable[[RequestRecord], str | None]) -> list[Comparison]:
    """Every treatment's comparisons among the groups `key` puts requests in (no group: not tested)."""
    found: list[Comparison] = []
    for treatment, members in sorted(_grouped(records, lambda r: r.treatment).items()):
        by_group = _grouped((r for r in members if key(r) is not None), key)
        found += compare(treatment, {g: _decided(rs) for g, rs in by_group.items()})
    return corrected(found)


def _rows(
    records: Sequence[RequestRecord],
    key: Callable[[RequestRecord], str | None],
    tested: dict[tuple[str, str], Comparison],
    treatment: str | None,
    as_of: date,
    describe: Callable[[str | None], dict[str, Any]],
) -> list[dict[str, Any]]:
    rows = []
    for group, members in sorted(_grouped(records, key).items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        row: dict[str, Any] = {"group": group, **describe(group), **counts(members, as_of)}
        if treatment is not None:
            c = tested.get((treatment, group))
            row["p_value"] = round(c.p_value, 6) if c else None
            row["adjusted_p_value"] = round(c.adjusted_p_value, 6) if c else None
            row["flagged"] = bool(c and c.flagged)
        rows.append(row)
    return rows


GROUPINGS: dict[str, Callable[[RequestRecord], str | None]] = {
    "region": lambda r: r.region,
    "panel": lambda r: r.panel,
}


def consistency_report(
    records: Sequence[RequestRecord],
    start: date,
    end: date,
    as_of: date,
    panels: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The report for requests received from `start` to `end`, clocks as of `as_of`; `panels` gives each
    panel's `name` and `region` for its rows.

    `by_region` and `by_panel` overall and per treatment (a panel's rows hold the requests it decided);
    `flags` lists each region or panel whose approval rate for a treatment differs from the others'
    beyond chance, with the 2x2 counts and both p-values."""
    panels = panels or {}
    describe: dict[str, Callable[[str | None], dict[str, Any]]] = {
        "region": lambda g: {"name": region_name(g) if g else "No region"},
        "panel": lambda g: {
            "name": panels.get(g or "", {}).get("name", g),
            "region": panels.get(g or "", {}).get("region"),
        },
    }
    families = {name: _family(records, key) for name, key in GROUPINGS.items()}
    tested = {name: {(c.treatment, c.group): c for c in family} for name, family in families.items()}
    decided_by_panel = [r for r in records if r.panel is not None]
    treatments = []
    names = {r.treatment: r.treatment_name for r in records}
    for treatment, members in sorted(_grouped(records, lambda r: r.treatment).items()):
        panelled = [r for r in members if r.panel is not None]
        treatments.append(
            {
                "treatment": treatment,
                "treatment_name": members[0].treatment_name,
                "overall": counts(members, as_of),
                "by_region": _rows(
                    members, GROUPINGS["region"], tested["region"], treatment, as_of, describe["region"]
                ),
                "by_panel": _rows(panelled, GROUPINGS["panel"], tested["panel"], treatment, as_of, describe["panel"]),
                "comparisons": {name: sum(c.treatment == treatment for c in f) for name, f in families.items()},
            }
        )
    flags = [
        {
            "grouping": name,
            "treatment": c.treatment,
            "group": c.group,
            **describe[name](c.group),
            "treatment_name": names[c.treatment],
            "approved": c.approved,
            "declined": c.declined,
            **_rate(c.approved, c.approved + c.declined),
            "others_approved": c.others_approved,
            "others_declined": c.others_declined,
            "others_approval_rate": round(c.others_approved / (c.others_approved + c.others_declined), 4),
            "direction": "higher"
            if c.approved * (c.others_approved + c.others_declined) > c.others_approved * (c.approved + c.declined)
            else "lower",
            "p_value": c.p_value,
            "adjusted_p_value": c.adjusted_p_value,
        }
        for name, family in families.items()
        for c in family
        if c.flagged
    ]
    return {
        "period_start": start,
        "period_end": end,
        "as_of": as_of,
        "method": METHOD,
        "overall": counts(records, as_of),
        "by_region": _rows(records, GROUPINGS["region"], {}, None, as_of, describe["region"]),
        "by_panel": _rows(decided_by_panel, GROUPINGS["panel"], {}, None, as_of, describe["panel"]),
        "treatments": treatments,
        "comparisons": {name: len(f) for name, f in families.items()},
        "flags": flags,
    }


MEASURES = (
    "requests",
    "screened_out",
    "approved",
    "declined",
    "decided",
    "undecided",
    "approval_rate",
    "approval_low",
    "approval_high",
    "median_working_days_to_decision",
)
CSV_COLUMNS = ("period_start", "period_end", "treatment", "grouping", "group", "measure", "value")


def _measures(row: dict[str, Any]) -> list[tuple[str, Any]]:
    interval = row["approval_interval"] or {}
    values = {**row, "approval_low": interval.get("low"), "approval_high": interval.get("high")}
    out = [(m, values[m]) for m in MEASURES]
    for clock, t in row["timeliness"].items():
        out += [(f"{clock}_{k}", v) for k, v in t.items()]
    for extra in ("p_value", "adjusted_p_value", "flagged"):
        if extra in row:
            out.append((extra, row[extra]))
    return out


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as long rows (treatment, grouping, group, measure, value); the overall treatment is
    blank, the overall group too; each flag's counts under grouping `flag:region` or `flag:panel`."""
    base = {"period_start": report["period_start"], "period_end": report["period_end"]}
    rows: list[dict[str, Any]] = []

    def add(treatment: str, grouping: str, group: str | None, measures: list[tuple[str, Any]]) -> None:
        rows.extend(
            {**base, "treatment": treatment, "grouping": grouping, "group": group or "", "measure": m, "value": v}
            for m, v in measures
        )

    add("", "overall", "", _measures(report["overall"]))
    for grouping in GROUPINGS:
        for row in report[f"by_{grouping}"]:
            add("", grouping, row["group"], _measures(row))
    for t in report["treatments"]:
        add(t["treatment"], "overall", "", _measures(t["overall"]))
        for grouping in GROUPINGS:
            for row in t[f"by_{grouping}"]:
                add(t["treatment"], grouping, row["group"], _measures(row))
    for f in report["flags"]:
        skip = {"grouping", "treatment", "treatment_name", "group", "name", "region", "approval_interval"}
        add(f["treatment"], f"flag:{f['grouping']}", f["group"], [(k, v) for k, v in f.items() if k not in skip])
    return rows
