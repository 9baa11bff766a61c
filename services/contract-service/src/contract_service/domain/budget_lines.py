"""Budget lines for excluded drugs and devices, and which line a commitment or spend falls on (pure).

A provider's excluded-drugs budget for a year is split into lines: the Cancer Drugs Fund, other
high-cost drugs and devices, each either for one drug (dm+d id) or for a category. Money is placed
on the most specific line: the line for that exact drug, else the category line of the right kind.
Nothing is dropped: with no fitting line the money is recorded as unallocated.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class BudgetKind(StrEnum):
    CDF = "cdf"
    HIGH_COST_DRUG = "high_cost_drug"
    DEVICE = "device"


class FundingSource(StrEnum):
    CDF = "cdf"
    IFR = "ifr"
    NONE = "none"  # spend in a drug return with no approval


@dataclass(frozen=True)
class LineKey:
    id: uuid.UUID
    kind: BudgetKind
    dmd_id: str | None
    category: str | None


# Which kinds of line each funding source may land on, most fitting first.
KINDS_FOR_SOURCE: dict[FundingSource, tuple[BudgetKind, ...]] = {
    FundingSource.CDF: (BudgetKind.CDF,),
    FundingSource.IFR: (BudgetKind.HIGH_COST_DRUG,),
    FundingSource.NONE: (BudgetKind.HIGH_COST_DRUG, BudgetKind.CDF, BudgetKind.DEVICE),
}


def choose_line(lines: Sequence[LineKey], source: FundingSource, dmd_id: str | None) -> uuid.UUID | None:
    """The line money from `source` for drug `dmd_id` belongs to; None means unallocated.

    1. a line of an allowed kind for exactly this drug (the first kind listed wins);
    2. else a category line (no drug) of the first allowed kind that has one; among several,
       the one whose category names the source ("cdf", "ifr"), else the first by category name.
    """
    source = FundingSource(source)
    kinds = KINDS_FOR_SOURCE[source]
    if dmd_id:
        for kind in kinds:
            exact = [line for line in lines if line.kind == kind and line.dmd_id == dmd_id]
            if exact:
                return exact[0].id
    for kind in kinds:
        category_lines = sorted(
            (line for line in lines if line.kind == kind and line.dmd_id is None),
            key=lambda line: ((line.category or "").lower() != source.value, (line.category or "").lower()),
        )
        if category_lines:
            return category_lines[0].id
    return None
