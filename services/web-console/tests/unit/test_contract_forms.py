"""The contract forms (pure): only the rows typed in are sent, an activity plan is twelve months, and the
API's problems come back to the field the page shows, in the form's own row."""

from __future__ import annotations

from starlette.datastructures import FormData

from web_console.apis import ApiProblem
from web_console.contracts.contracts import NEW_FIELDS, _read_new
from web_console.contracts.form_rows import activity_plan, problems_at_fields
from web_console.contracts.variations import CARRIES, _change, _problem
from web_console.contracts.variations import FIELDS as VARIATION_FIELDS
from web_console.form_fields import read

PLAN = " ".join(["10"] * 12)


def contract_form(**rows: str) -> FormData:
    return FormData(
        [
            ("provider_ods", "RRV"),
            ("financial_year", "2026/27"),
            ("title", "Specialised services"),
            ("terms-schedules-0-hub", "NW"),
            ("terms-schedules-0-hub_name", "North West"),
            *rows.items(),
        ]
    )


def test_only_the_rows_typed_in_are_sent_each_in_the_schedule_s_hub() -> None:
    form = contract_form(
        **{
            "terms-service_lines-1-code": "CARD01",
            "terms-service_lines-1-description": "Adult cardiac surgery",
            "terms-service_lines-1-category": "tariff",
            "terms-service_lines-1-price": "1000",
            "terms-service_lines-1-activity_plan": PLAN.replace(" ", ", "),
            "budget_lines-1-kind": "cdf",
            "budget_lines-1-category": "cdf",
            "budget_lines-1-line_name": "CDF drugs",
            "budget_lines-1-budget": "250000",
        }
    )
    body, budget_lines, _, errors, rows = _read_new(form)
    assert not errors and rows == [1]
    (line,) = body["terms"]["service_lines"]
    assert line["hub"] == "NW" and line["activity_plan"] == ["10"] * 12 and line["price"] == "1000"
    assert budget_lines == [{"kind": "cdf", "category": "cdf", "line_name": "CDF drugs", "budget": "250000"}]


def test_a_plan_that_is_not_twelve_months_is_shown_at_its_field() -> None:
    form = contract_form(**{"terms-service_lines-0-code": "X1", "terms-service_lines-0-activity_plan": "10 10"})
    *_, errors, _ = _read_new(form)
    assert "twelve numbers" in errors.by_field["terms.service_lines.0.activity_plan"]
    assert activity_plan("1 2 3 4 5 6 7 8 9 10 11 12.5") is not None
    assert activity_plan("1 2 3 4 5 6 7 8 9 10 11 -1") is None


def test_the_api_s_row_is_the_form_s_row_and_a_month_is_the_plan_s_box() -> None:
    problem = ApiProblem(
        422,
        "Unprocessable",
        "",
        [
            {"field": "terms.service_lines.0.activity_plan.3", "message": "Input should be greater than or equal to 0"},
            {"field": "financial_year", "message": "String should match pattern"},
        ],
    )
    errors = problems_at_fields(problem, NEW_FIELDS, renumber={"terms.service_lines": [2]})
    assert errors.by_field["terms.service_lines.2.activity_plan"].startswith("Service line 3 indicative activity plan")
    assert errors.by_field["financial_year"].startswith("Financial year:")


def test_a_variation_sends_only_what_its_change_carries_and_problems_lose_the_change_s_tag() -> None:
    form = FormData(
        [
            ("effective_date[day]", "1"),
            ("effective_date[month]", "10"),
            ("effective_date[year]", "2026"),
            ("summary", "Uplift"),
            ("changes-0-op", "set_price"),
            ("changes-0-code", "CARD01"),
            ("changes-0-price", "1100"),
            ("changes-0-cquin_rate_pct", "2"),
        ]
    )
    body, shown, errors = read(form, VARIATION_FIELDS)
    _change(body, shown, errors)
    assert not errors
    assert body["changes"] == [{"op": "set_price", "code": "CARD01", "price": "1100"}]
    problem = ApiProblem(
        422,
        "Unprocessable",
        "",
        [
            {"field": "changes.0.set_price.price", "message": "Input should be greater than or equal to 0"},
            {"field": "changes[0]", "message": "no service line CARD09 on that date"},
        ],
    )
    found = _problem(problem)
    assert set(found.by_field) == {"changes.0.price", "changes.0.code"}
    assert set(CARRIES) == {value for value, _ in VARIATION_FIELDS[2].options}
