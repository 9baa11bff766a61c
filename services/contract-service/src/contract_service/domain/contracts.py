"""A provider's contract terms, their value and CQUIN, and effective-dated variations (pure).

A contract holds schedules (one per commissioning hub) and service lines, each with a single price
and an indicative activity plan for M1 (April) ... M12 (March). Variations are agreed changes that
take effect on a date; the terms as they stood on any date are the base terms with every variation
effective on or before that date applied in effective order (agreement order breaks ties).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from casework.financial_year import fy_end, fy_start

PENNY = Decimal("0.01")
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Activity = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Rate = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)]


def pence(amount: Decimal) -> Decimal:
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


class LineCategory(StrEnum):
    TARIFF = "tariff"
    NON_TARIFF = "non_tariff"
    EXCLUDED_DRUGS = "excluded_drugs"
    EXCLUDED_DEVICES = "excluded_devices"

    @property
    def excluded(self) -> bool:
        """Excluded drugs and devices are paid at actual cost, outside the CQUIN base."""
        return self in (LineCategory.EXCLUDED_DRUGS, LineCategory.EXCLUDED_DEVICES)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Schedule(_Frozen):
    """The part of the contract one commissioning hub manages."""

    hub: Code
    hub_name: str = Field(min_length=1, max_length=200)


class ServiceLine(_Frozen):
    code: Code
    hub: Code  # the schedule it belongs to
    description: str = Field(min_length=1, max_length=300)
    category: LineCategory = LineCategory.TARIFF
    unit: str = Field("episode", min_length=1, max_length=40)
    price: Money  # one price per line
    activity_plan: tuple[Activity, ...] = Field(min_length=12, max_length=12)  # M1 (April) .. M12 (March)

    @property
    def planned_activity(self) -> Decimal:
        return sum(self.activity_plan, Decimal(0))

    @property
    def value(self) -> Decimal:
        return pence(self.price * self.planned_activity)


class ContractTerms(_Frozen):
    schedules: tuple[Schedule, ...] = Field(min_length=1)
    service_lines: tuple[ServiceLine, ...] = ()
    cquin_rate_pct: Rate | None = None  # None: the service's configured rate

    @model_validator(mode="after")
    def _consistent(self) -> ContractTerms:
        problem = terms_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    def line(self, code: str) -> ServiceLine | None:
        return next((line for line in self.service_lines if line.code == code), None)


def terms_problem(terms: ContractTerms) -> str | None:
    """Why the terms are inconsistent (duplicate hub or line, a line in no schedule), or None."""
    hubs = [s.hub for s in terms.schedules]
    if len(hubs) != len(set(hubs)):
        return "schedules: each commissioning hub has one schedule"
    codes = [line.code for line in terms.service_lines]
    if len(codes) != len(set(codes)):
        return "service_lines: each service line code appears once (one price per line)"
    orphan = next((line.code for line in terms.service_lines if line.hub not in hubs), None)
    if orphan is not None:
        return f"service_lines: line {orphan} names a hub with no schedule"
    return None


# --- Value and CQUIN ------------------------------------------------------------------------------


class ContractValue(_Frozen):
    total: Decimal
    excluded_drugs_and_devices: Decimal
    cquin_base: Decimal
    cquin_rate_pct: Decimal
    cquin_value: Decimal
    by_hub: dict[str, Decimal]


def contract_value(terms: ContractTerms, default_cquin_rate_pct: Decimal) -> ContractValue:
    """Plan value of every line; CQUIN is a percentage of the value EXCLUDING excluded drugs and devices."""
    total = sum((line.value for line in terms.service_lines), Decimal(0))
    excluded = sum((line.value for line in terms.service_lines if line.category.excluded), Decimal(0))
    rate = terms.cquin_rate_pct if terms.cquin_rate_pct is not None else default_cquin_rate_pct
    base = total - excluded
    by_hub = {s.hub: Decimal(0) for s in terms.schedules}
    for line in terms.service_lines:
        by_hub[line.hub] += line.value
    return ContractValue(
        total=pence(total),
        excluded_drugs_and_devices=pence(excluded),
        cquin_base=pence(base),
        cquin_rate_pct=rate,
        cquin_value=pence(base * rate / 100),
        by_hub={hub: pence(v) for hub, v in by_hub.items()},
    )


# --- Variations -----------------------------------------------------------------------------------


class SetPrice(_Frozen):
    op: Literal["set_price"] = "set_price"
    code: Code
    price: Money


class SetActivityPlan(_Frozen):
    op: Literal["set_activity_plan"] = "set_activity_plan"
    code: Code
    activity_plan: tuple[Activity, ...] = Field(min_length=12, max_length=12)


class AddServiceLine(_Frozen):
    op: Literal["add_service_line"] = "add_service_line"
    line: ServiceLine


class RemoveServiceLine(_Frozen):
    op: Literal["remove_service_line"] = "remove_service_line"
    code: Code


class AddSchedule(_Frozen):
    op: Literal["add_schedule"] = "add_schedule"
    schedule: Schedule


class SetCquinRate(_Frozen):
    op: Literal["set_cquin_rate"] = "set_cquin_rate"
    cquin_rate_pct: Rate


Change = Annotated[
    SetPrice | SetActivityPlan | AddServiceLine | RemoveServiceLine | AddSchedule | SetCquinRate,
    Field(discriminator="op"),
]


class Variation(_Frozen):
    sequence: int = Field(ge=1)  # agreement order
    effective_date: date
    changes: tuple[Change, ...] = Field(min_length=1)


class VariationError(ValueError):
    def __init__(self, sequence: int, index: int, message: str) -> None:
        self.sequence, self.index, self.message = sequence, index, message
        super().__init__(f"variation {sequence}, change {index}: {message}")


def _replace_line(terms: ContractTerms, code: str, **updates: object) -> ContractTerms:
    if terms.line(code) is None:
        raise ValueError(f"no service line {code} on that date")
    lines = tuple(line.model_copy(update=updates) if line.code == code else line for line in terms.service_lines)
    return terms.model_copy(update={"service_lines": lines})


def apply_change(terms: ContractTerms, change: Change) -> ContractTerms:
    """The terms after one change; ValueError when it does not fit the terms of that date."""
    match change:
        case SetPrice():
            return _replace_line(terms, change.code, price=change.price)
        case SetActivityPlan():
            return _replace_line(terms, change.code, activity_plan=change.activity_plan)
        case RemoveServiceLine():
            if terms.line(change.code) is None:
                raise ValueError(f"no service line {change.code} on that date")
            return terms.model_copy(
                update={"service_lines": tuple(x for x in terms.service_lines if x.code != change.code)}
            )
        case AddServiceLine():
            updated: dict[str, tuple[Any, ...]] = {"service_lines": (*terms.service_lines, change.line)}
        case AddSchedule():
            updated = {"schedules": (*terms.schedules, change.schedule)}
        case SetCquinRate():
            return terms.model_copy(update={"cquin_rate_pct": change.cquin_rate_pct})
    candidate = terms.model_copy(update=updated)
    if problem := terms_problem(candidate):
        raise ValueError(problem)
    return candidate


def in_effective_order(variations: Iterable[Variation]) -> list[Variation]:
    return sorted(variations, key=lambda v: (v.effective_date, v.sequence))


def terms_as_of(base: ContractTerms, variations: Sequence[Variation], as_of: date | None = None) -> ContractTerms:
    """The terms as they stood on `as_of` (None: with every variation): base + effective variations in order."""
    terms = base
    for variation in in_effective_order(variations):
        if as_of is not None and variation.effective_date > as_of:
            break
        for index, change in enumerate(variation.changes):
            try:
                terms = apply_change(terms, change)
            except ValueError as exc:
                raise VariationError(variation.sequence, index, str(exc)) from None
    return terms


def applied_variations(variations: Sequence[Variation], as_of: date) -> list[int]:
    """Sequence numbers of the variations in force on `as_of`, in effective order."""
    return [v.sequence for v in in_effective_order(variations) if v.effective_date <= as_of]


def effective_in_year(financial_year: str, day: date) -> bool:
    """A variation takes effect within the contract's own financial year (1 April to 31 March)."""
    return fy_start(financial_year) <= day <= fy_end(financial_year)
