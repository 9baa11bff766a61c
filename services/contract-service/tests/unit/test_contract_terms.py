"""Contract terms: value, CQUIN on the non-excluded value, and rebuilding the terms as of a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contract_service.domain.contracts import (
    AddSchedule,
    AddServiceLine,
    ContractTerms,
    LineCategory,
    RemoveServiceLine,
    Schedule,
    ServiceLine,
    SetActivityPlan,
    SetCquinRate,
    SetPrice,
    Variation,
    VariationError,
    applied_variations,
    contract_value,
    terms_as_of,
)

PLAN_10 = (Decimal(10),) * 12  # 120 a year


def line(
    code: str, price: str, category: LineCategory = LineCategory.TARIFF, hub: str = "NW", **kw: Any
) -> ServiceLine:
    return ServiceLine(
        code=code,
        hub=hub,
        description=f"service {code}",
        category=category,
        price=Decimal(price),
        activity_plan=kw.pop("activity_plan", PLAN_10),
        **kw,
    )


def base_terms() -> ContractTerms:
    return ContractTerms(
        schedules=(Schedule(hub="NW", hub_name="North West"),),
        service_lines=(
            line("CARD01", "1000.00"),
            line("DRUGS", "50.00", LineCategory.EXCLUDED_DRUGS),
            line("DEVICES", "25.00", LineCategory.EXCLUDED_DEVICES),
        ),
    )


def test_cquin_is_computed_on_value_excluding_drugs_and_devices() -> None:
    value = contract_value(base_terms(), Decimal("1.25"))
    assert value.total == Decimal("129000.00")  # 120 x (1000 + 50 + 25)
    assert value.excluded_drugs_and_devices == Decimal("9000.00")
    assert value.cquin_base == Decimal("120000.00")
    assert value.cquin_value == Decimal("1500.00")  # 1.25% of 120,000, not of 129,000
    assert value.by_hub == {"NW": Decimal("129000.00")}


def test_contract_rate_overrides_the_configured_rate() -> None:
    terms = base_terms().model_copy(update={"cquin_rate_pct": Decimal("2")})
    assert contract_value(terms, Decimal("1.25")).cquin_value == Decimal("2400.00")


def test_terms_refuse_duplicate_lines_and_lines_without_schedule() -> None:
    with pytest.raises(ValidationError, match="appears once"):
        ContractTerms(schedules=(Schedule(hub="NW", hub_name="x"),), service_lines=(line("A", "1"), line("A", "2")))
    with pytest.raises(ValidationError, match="no schedule"):
        ContractTerms(schedules=(Schedule(hub="NW", hub_name="x"),), service_lines=(line("A", "1", hub="LDN"),))
    with pytest.raises(ValidationError):
        line("A", "1", activity_plan=(Decimal(1),) * 11)  # a plan has twelve months


VARIATIONS = [
    # agreed out of effective order on purpose: sequence 2 takes effect before sequence 1
    Variation(sequence=1, effective_date=date(2026, 10, 1), changes=(SetPrice(code="CARD01", price=Decimal(1200)),)),
    Variation(
        sequence=2,
        effective_date=date(2026, 7, 1),
        changes=(
            AddSchedule(schedule=Schedule(hub="LDN", hub_name="London")),
            AddServiceLine(line=line("NEURO", "500.00", hub="LDN")),
        ),
    ),
    Variation(
        sequence=3,
        effective_date=date(2027, 1, 1),
        changes=(RemoveServiceLine(code="DEVICES"), SetCquinRate(cquin_rate_pct=Decimal("1.5"))),
    ),
]


@pytest.mark.parametrize(
    ("as_of", "applied", "codes", "card_price"),
    [
        (date(2026, 4, 1), [], ["CARD01", "DRUGS", "DEVICES"], "1000.00"),
        (date(2026, 6, 30), [], ["CARD01", "DRUGS", "DEVICES"], "1000.00"),
        (date(2026, 7, 1), [2], ["CARD01", "DRUGS", "DEVICES", "NEURO"], "1000.00"),
        (date(2026, 11, 15), [2, 1], ["CARD01", "DRUGS", "DEVICES", "NEURO"], "1200.00"),
        (date(2027, 3, 31), [2, 1, 3], ["CARD01", "DRUGS", "NEURO"], "1200.00"),
    ],
)
def test_three_variations_rebuild_as_of_before_between_and_after(
    as_of: date, applied: list[int], codes: list[str], card_price: str
) -> None:
    terms = terms_as_of(base_terms(), VARIATIONS, as_of)
    assert applied_variations(VARIATIONS, as_of) == applied
    assert [x.code for x in terms.service_lines] == codes
    assert terms.line("CARD01").price == Decimal(card_price)  # type: ignore[union-attr]
    assert ("LDN" in [s.hub for s in terms.schedules]) == (2 in applied)
    assert terms.cquin_rate_pct == (Decimal("1.5") if 3 in applied else None)


def test_value_follows_the_variations() -> None:
    after = contract_value(terms_as_of(base_terms(), VARIATIONS), Decimal("1.25"))
    # CARD01 120 x 1200 + NEURO 120 x 500 + DRUGS 120 x 50 (DEVICES removed)
    assert after.total == Decimal("210000.00")
    assert after.cquin_base == Decimal("204000.00")
    assert after.cquin_value == Decimal("3060.00")
    assert after.by_hub == {"NW": Decimal("150000.00"), "LDN": Decimal("60000.00")}


def test_a_variation_that_does_not_fit_its_date_names_itself() -> None:
    early = Variation(
        sequence=4, effective_date=date(2026, 5, 1), changes=(SetPrice(code="NEURO", price=Decimal(1)),)
    )  # NEURO only exists from July
    with pytest.raises(VariationError) as caught:
        terms_as_of(base_terms(), [*VARIATIONS, early])
    assert (caught.value.sequence, caught.value.index) == (4, 0)
    assert "NEURO" in caught.value.message


def test_activity_plan_change_and_duplicate_add_are_checked() -> None:
    plan = (Decimal(0),) * 11 + (Decimal(12),)
    varied = terms_as_of(
        base_terms(),
        [
            Variation(
                sequence=1,
                effective_date=date(2026, 5, 1),
                changes=(SetActivityPlan(code="DRUGS", activity_plan=plan),),
            )
        ],
    )
    assert varied.line("DRUGS").planned_activity == Decimal(12)  # type: ignore[union-attr]
    duplicate = Variation(
        sequence=1, effective_date=date(2026, 5, 1), changes=(AddServiceLine(line=line("CARD01", "1")),)
    )
    with pytest.raises(VariationError, match="appears once"):
        terms_as_of(base_terms(), [duplicate])


@given(st.lists(st.tuples(st.integers(0, 364), st.integers(1, 5000)), min_size=1, max_size=8), st.integers(0, 364))
def test_as_of_equals_replaying_only_the_variations_in_force(changes: list[tuple[int, int]], day: int) -> None:
    start = date(2026, 4, 1).toordinal()
    variations = [
        Variation(
            sequence=i + 1,
            effective_date=date.fromordinal(start + offset),
            changes=(SetPrice(code="CARD01", price=Decimal(price)),),
        )
        for i, (offset, price) in enumerate(changes)
    ]
    as_of = date.fromordinal(start + day)
    in_force = [v for v in variations if v.effective_date <= as_of]
    expected = (
        max(in_force, key=lambda v: (v.effective_date, v.sequence)).changes[0].price if in_force else Decimal(1000)
    )
    assert terms_as_of(base_terms(), variations, as_of).line("CARD01").price == expected  # type: ignore[union-attr]
