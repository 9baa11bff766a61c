"""The drug expenditure screens' forms (pure): which side may use which validation-query form in which
state, and a refused return's problems placed at the file field or at the field the API named."""

from __future__ import annotations

from web_console.apis import ApiProblem
from web_console.auth.sessions import SignedInUser
from web_console.returns.drug_returns import _refused
from web_console.returns.validation_queries import forms_for


def user(org: str, *roles: str) -> SignedInUser:
    return SignedInUser("sub", "Name", None, org, frozenset(roles), None, is_commissioner=org == "X24")


TRUST, COMMISSIONER, CDF_LEAD = user("RRV", "trust_finance"), user("X24", "finance_lead"), user("RRV", "trust_cdf_lead")


def test_the_trust_answers_a_raised_query_and_the_commissioner_settles_a_disputed_one() -> None:
    raised = {"allowed_actions": ["accept", "dispute", "withdraw"]}
    disputed = {"allowed_actions": ["uphold_challenge", "accept_evidence", "withdraw"]}
    assert [f.name for f in forms_for(TRUST, raised)] == ["dispute", "accept"]
    assert forms_for(TRUST, disputed) == []
    assert forms_for(CDF_LEAD, raised) == []  # reads it, answers nothing
    [settle] = forms_for(COMMISSIONER, raised)
    assert [value for value, _ in settle.fields[0].options] == ["withdraw"]  # only what the state allows
    [settle] = forms_for(COMMISSIONER, disputed)
    assert [value for value, _ in settle.fields[0].options] == ["uphold_challenge", "accept_evidence", "withdraw"]
    assert forms_for(COMMISSIONER, {"allowed_actions": []}) == []


def test_a_return_with_no_row_kept_is_refused_at_the_file_field_with_every_row() -> None:
    rows = [{"row": 1, "field": "nhs_number", "reason": "not a valid NHS number"}]
    problem = ApiProblem(
        422, "Unprocessable", "no valid line", [{"field": "nhs_number", "message": "x"}], {"errors": rows}
    )
    errors, listed = _refused("march.csv", problem)
    assert errors.by_field == {"file": "march.csv was refused and nothing was stored: no row could be kept"}
    assert listed == rows


def test_a_bad_period_or_a_reused_reference_is_shown_at_its_field() -> None:
    period = ApiProblem(422, "Validation failed", "period: bad", [{"field": "period", "message": "bad month"}], {})
    errors, listed = _refused("march.csv", period)
    assert list(errors.by_field) == ["period"] and listed == []
    reused = ApiProblem(409, "Conflict", "already received with other content", [], {})
    errors, _ = _refused("march.csv", reused)
    assert errors.by_field["submission_id"].endswith("already received with other content")
