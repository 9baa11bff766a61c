"""Reconciling drug-return lines with the approvals known from events (pure).

Spend on an excluded high-cost drug is funded only with authority: a CDF approval or an IFR
decision that funds it. A line is authorised when an approval fits it:
- the approval quoted on the line, if any, when it is for the same provider (trust), the same
  patient (patient_ref), the same drug (when the approval names one) and the administration date
  falls within the approval's period (from approval to stop / withdrawal / lapse, if any);
- otherwise any approval that fits the same way: a CDF approval by patient + dm+d + provider +
  dates, then an IFR approval by patient + provider (+ drug when named) + dates.
A quoted reference that does not fit is not fatal when another approval fits (a typing error must
not cost the trust the money); the reason is kept. Lines no approval fits are unauthorised and are
challenged in one validation query per provider per month.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contract_service.domain.budget_lines import FundingSource


def trust_of(ods: str) -> str:
    """Contracts are held by the trust: a site code (RRV03) belongs to its trust (RRV)."""
    return ods.upper()[:3]


@dataclass(frozen=True)
class Authority:
    id: uuid.UUID
    source: FundingSource
    reference: str
    provider_ods: str
    patient_ref: str
    dmd_id: str | None  # None: an IFR for a treatment with no dm+d code (matches any drug)
    valid_from: date | None  # None: known only from its end so far (no lower bound)
    valid_until: date | None = None  # stop / withdrawal / lapse date


@dataclass(frozen=True)
class LineToReconcile:
    row: int
    provider_ods: str
    period: str
    patient_ref: str
    dmd_id: str
    administered_on: date
    cost: Decimal
    approval_reference: str | None = None


@dataclass(frozen=True)
class LineOutcome:
    row: int
    authority_id: uuid.UUID | None
    source: FundingSource
    reason: str | None  # why it is not authorised, or a note on how it was matched

    @property
    def authorised(self) -> bool:
        return self.authority_id is not None


def misfit(authority: Authority, line: LineToReconcile) -> str | None:
    """Why `authority` does not cover `line`, or None when it does."""
    ref = authority.reference
    if trust_of(authority.provider_ods) != trust_of(line.provider_ods):
        return f"approval {ref} is for another provider"
    if authority.patient_ref != line.patient_ref:
        return f"approval {ref} is for another patient"
    if authority.dmd_id is not None and authority.dmd_id != line.dmd_id:
        return f"approval {ref} is for another drug"
    if authority.valid_from is not None and line.administered_on < authority.valid_from:
        return f"administered before approval {ref} was given"
    if authority.valid_until is not None and line.administered_on > authority.valid_until:
        return f"administered after approval {ref} ended"
    return None


class ApprovalIndex:
    """The approvals of the providers in a return, looked up by reference and by patient."""

    def __init__(self, authorities: Iterable[Authority]) -> None:
        self.by_reference: dict[str, Authority] = {}
        self.by_patient: dict[str, list[Authority]] = defaultdict(list)
        for authority in authorities:
            self.by_reference[authority.reference.upper()] = authority
            self.by_patient[authority.patient_ref].append(authority)
        order = {FundingSource.CDF: 0, FundingSource.IFR: 1}
        for candidates in self.by_patient.values():
            candidates.sort(key=lambda a: (order.get(a.source, 2), a.valid_from or date.min, a.reference))

    def fitting(self, line: LineToReconcile) -> Authority | None:
        return next((a for a in self.by_patient.get(line.patient_ref, []) if misfit(a, line) is None), None)


def reconcile_line(line: LineToReconcile, index: ApprovalIndex) -> LineOutcome:
    quoted_problem = None
    if line.approval_reference:
        quoted = index.by_reference.get(line.approval_reference.upper())
        quoted_problem = (
            f"approval reference {line.approval_reference} is not known" if quoted is None else misfit(quoted, line)
        )
        if quoted is not None and quoted_problem is None:
            return LineOutcome(line.row, quoted.id, quoted.source, None)
    found = index.fitting(line)
    if found is not None:
        note = f"matched {found.reference}; {quoted_problem}" if quoted_problem else None
        return LineOutcome(line.row, found.id, found.source, note)
    return LineOutcome(
        line.row, None, FundingSource.NONE, quoted_problem or "no CDF or IFR approval for this patient and drug"
    )


def reconcile(lines: Sequence[LineToReconcile], authorities: Iterable[Authority]) -> list[LineOutcome]:
    index = ApprovalIndex(authorities)
    return [reconcile_line(line, index) for line in lines]


@dataclass(frozen=True)
class QueryDraft:
    """One validation query: the unauthorised lines of one provider in one month."""

    provider_ods: str
    period: str
    rows: tuple[int, ...]
    challenged_value: Decimal


def group_queries(lines: Sequence[LineToReconcile], outcomes: Sequence[LineOutcome]) -> list[QueryDraft]:
    """One query per provider (trust) per month, listing every unauthorised line of it."""
    groups: dict[tuple[str, str], list[LineToReconcile]] = defaultdict(list)
    for line, outcome in zip(lines, outcomes, strict=True):
        if not outcome.authorised:
            groups[(trust_of(line.provider_ods), line.period)].append(line)
    return [
        QueryDraft(provider, period, tuple(x.row for x in group), sum((x.cost for x in group), Decimal(0)))
        for (provider, period), group in sorted(groups.items())
    ]
