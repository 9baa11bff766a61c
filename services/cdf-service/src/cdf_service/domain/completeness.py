"""SACT completeness: per trust per month, the share of active approvals with matching SACT activity.

Trusts must show that over 90% of CDF activity maps to SACT submissions each month (DOMAIN). Which
approvals count as active, and which have matched SACT activity, is decided by the caller (the
matching step); this module only does the counting and the comparison, so the rule is in one place.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from casework.identifiers import is_valid_ods_code

NATIONAL_EXPECTATION = Decimal("0.90")
_SHARE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class ApprovalPeriod:
    """When an approval is expected to have SACT activity (both ends inclusive).

    Suggested: from the first administration (or the planned start) to the final treatment date,
    lapse date or withdrawal date; None while still running.
    """

    approval_id: str
    trust_ods: str
    active_from: date
    active_to: date | None


@dataclass(frozen=True)
class CompletenessResult:
    trust_ods: str
    month: date  # first day of the month
    numerator: int  # active approvals with matched SACT activity in the month
    denominator: int  # active approvals in the month
    share: Decimal | None  # 4 places; None when there is nothing to measure
    expectation: Decimal
    meets_expectation: bool


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of the month containing `month`."""
    first = month.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return first, next_first - timedelta(days=1)


def is_active_in(period: ApprovalPeriod, month: date) -> bool:
    first, last = month_bounds(month)
    return period.active_from <= last and (period.active_to is None or period.active_to >= first)


def sact_completeness(
    trust_ods: str,
    month: date,
    approvals: Iterable[ApprovalPeriod],
    matched_approval_ids: Collection[str],
    expectation: Decimal = NATIONAL_EXPECTATION,
) -> CompletenessResult:
    """Completeness for one trust and month.

    `matched_approval_ids`: approvals with SACT activity matched to them in that month. Meeting the
    expectation is compared exactly (numerator >= expectation x denominator), not on the rounded share.
    A trust with no active approvals meets it: there is no activity to be missing.
    """
    if not is_valid_ods_code(trust_ods):
        raise ValueError(f"not a valid ODS code: {trust_ods!r}")
    if not Decimal(0) <= expectation <= Decimal(1):
        raise ValueError("expectation must be between 0 and 1")
    active = {a.approval_id for a in approvals if a.trust_ods == trust_ods and is_active_in(a, month)}
    numerator = len(active & set(matched_approval_ids))
    denominator = len(active)
    share = None
    if denominator:
        share = (Decimal(numerator) / Decimal(denominator)).quantize(_SHARE_PLACES, rounding=ROUND_HALF_UP)
    return CompletenessResult(
        trust_ods=trust_ods,
        month=month.replace(day=1),
        numerator=numerator,
        denominator=denominator,
        share=share,
        expectation=expectation,
        meets_expectation=Decimal(numerator) >= expectation * denominator,
    )


def completeness_by_trust(
    month: date,
    approvals: Iterable[ApprovalPeriod],
    matched_approval_ids: Collection[str],
    expectation: Decimal = NATIONAL_EXPECTATION,
) -> dict[str, CompletenessResult]:
    """One result per trust with any approval active in the month (the national monthly report)."""
    items = list(approvals)
    trusts = sorted({a.trust_ods for a in items if is_active_in(a, month)})
    return {t: sact_completeness(t, month, items, matched_approval_ids, expectation) for t in trusts}
