"""The NHS financial year: 1 April – 31 March, months M1 (April) … M12 (March).

CDF forecasts and contract budgets both speak in these terms, so the calendar lives once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FinancialMonth:
    financial_year: str  # "2026/27"
    month: int  # 1 = April ... 12 = March

    @property
    def label(self) -> str:
        return f"M{self.month}"


# A reporting month "YYYY-MM" (SACT periods, drug returns, completeness reports). The years are held
# to 1900-2099 so a month can always be turned into dates (year 0 or 9999-12's next month cannot).
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
QUARTER_PATTERN = r"^(19|20)\d{2}-Q[1-4]$"


def financial_year_of(day: date) -> FinancialMonth:
    start_year = day.year if day.month >= 4 else day.year - 1
    return FinancialMonth(financial_year=fy_label(start_year), month=(day.month - 4) % 12 + 1)


def fy_label(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def fy_start_year(financial_year: str) -> int:
    """2026 for "2026/27"; rejects labels whose two halves are not consecutive years."""
    head, _, tail = financial_year.partition("/")
    if not (head.isdigit() and len(head) == 4 and tail.isdigit() and len(tail) == 2):
        raise ValueError(f"financial year must look like 2026/27, got {financial_year!r}")
    if fy_label(int(head)) != financial_year:
        raise ValueError(f"{financial_year!r} is not a financial year (years must be consecutive)")
    return int(head)


def month_starts(financial_year: str) -> tuple[date, ...]:
    """First day of M1 (April) ... M12 (March)."""
    year = fy_start_year(financial_year)
    return tuple(date(year + (m >= 9), (m + 3) % 12 + 1, 1) for m in range(12))


def fy_start(financial_year: str) -> date:
    return date(fy_start_year(financial_year), 4, 1)


def fy_end(financial_year: str) -> date:
    return date(fy_start_year(financial_year) + 1, 3, 31)


def month_start(day: date) -> date:
    return day.replace(day=1)
