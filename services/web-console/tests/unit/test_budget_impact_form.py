"""The budget impact a decision page shows travels with its form: read back, checked to be this
decision's (amount and year), and a service's refusal of it recognised."""

from __future__ import annotations

import json
from datetime import date

from web_console.apis import ApiProblem
from web_console.budget_impact import carried, fits, problem_is_about_it

SHOWN = {
    "provider_ods": "RRV",
    "financial_year": "2026/27",
    "source": "ifr",
    "amount": "15000.00",
    "margin_pct": "5",
    "summary": "No budget line of the provider's contract would carry this commitment of £15,000.00.",
    "as_of": "2026-12-02T07:00:00+00:00",
}


def test_the_figure_shown_comes_back_from_the_form() -> None:
    assert carried({"budget_impact": json.dumps(SHOWN)})["amount"] == "15000.00"
    assert carried({}) is None
    assert carried({"budget_impact": "not json"}) is None
    assert carried({"budget_impact": json.dumps({**SHOWN, "source": "sact"})}) is None  # not a what-if


def test_it_fits_the_decision_of_its_amount_and_year() -> None:
    assert fits(SHOWN, "15000", date(2026, 12, 2))
    assert fits(SHOWN, None, date(2027, 3, 31))  # a decline commits nothing: the year alone
    assert not fits(SHOWN, "16000", date(2026, 12, 2))
    assert not fits(SHOWN, "15000", date(2027, 4, 1))  # next year's budget
    assert not fits(None, "15000", date(2026, 12, 2))


def test_a_refusal_of_the_figure_is_recognised() -> None:
    about = ApiProblem(422, "Validation failed", "x", [{"field": "budget_impact.amount", "message": "m"}])
    other = ApiProblem(422, "Validation failed", "x", [{"field": "approved_cost", "message": "m"}])
    assert problem_is_about_it(about) and not problem_is_about_it(other)
