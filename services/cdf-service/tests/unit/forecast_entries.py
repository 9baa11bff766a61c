"""The list entry the forecast's unit tests share: £1,000 a cycle, 28-day cycles, six expected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from cdf_service.domain.national_list import Criterion, EntryStatus, ListEntry


def make_entry(**overrides: Any) -> ListEntry:
    fields: dict[str, Any] = {
        "entry_id": "CDF-0042",
        "version": 2,
        "drug_name": "Examplinib",
        "dmd_id": "3762811000001103",
        "indication": "Relapsed myeloma",
        "regimen": "Examplinib 28-day cycles",
        "criteria": (Criterion("C1", "Relapsed after two prior lines"),),
        "cost_per_cycle": Decimal("1000.00"),
        "cycle_length_days": 28,
        "expected_cycles": 6,
        "managed_access_start": date(2025, 1, 1),
        "managed_access_end": None,
        "status": EntryStatus.OPEN,
        "effective_from": date(2025, 1, 1),
    }
    fields.update(overrides)
    return ListEntry(**fields)
