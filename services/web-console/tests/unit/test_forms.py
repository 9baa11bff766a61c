"""Reading the console's forms back into API bodies, and showing problems at their fields (pure)."""

from __future__ import annotations

from starlette.datastructures import FormData

from web_console.apis import ApiProblem
from web_console.auth.routes import safe_next
from web_console.form_fields import Field, read, shown_from
from web_console.forms import FormErrors
from web_console.ifr.application import page_changes
from web_console.ifr.application_form import PAGE_BY_SLUG, page_of
from web_console.labels import history_entry

FIELDS = (
    Field("reasons.exceptionality", "Exceptionality", "textarea"),
    Field("respond_by", "Respond by", "date", optional=True),
    Field("approved_cost", "Approved cost", "money", optional=True),
    Field("present", "Who attended", "checkboxes", options=(("a", "A"), ("b", "B"))),
    Field("conditions", "Conditions", "lines", optional=True),
    Field("part_of_trial", "Trial?", "yes_no"),
)


def test_a_posted_form_becomes_the_nested_api_body() -> None:
    form = FormData(
        [
            ("reasons-exceptionality", " rare variant "),
            ("respond_by[day]", "7"),
            ("respond_by[month]", "1"),
            ("respond_by[year]", "2027"),
            ("approved_cost", "£1,250.50"),
            ("present", "a"),
            ("present", "b"),
            ("conditions", "stop at 12 weeks\n\nreport outcomes\n"),
            ("part_of_trial", "no"),
        ]
    )
    body, _, errors = read(form, FIELDS)
    assert not errors
    assert body == {
        "reasons": {"exceptionality": "rare variant"},
        "respond_by": "2027-01-07",
        "approved_cost": "1250.50",
        "present": ["a", "b"],
        "conditions": ["stop at 12 weeks", "report outcomes"],
        "part_of_trial": False,
    }


def test_what_the_console_can_see_is_wrong_is_named_and_not_sent() -> None:
    form = FormData(
        [("respond_by[day]", "31"), ("respond_by[month]", "2"), ("respond_by[year]", "2027"), ("approved_cost", "lots")]
    )
    body, shown, errors = read(form, FIELDS)
    assert set(errors.by_field) == {"respond_by", "approved_cost"}
    assert "respond_by" not in body and "approved_cost" not in body
    assert shown["respond_by"] == {"day": "31", "month": "2", "year": "2027"}  # shown again as typed


def test_api_problems_land_at_their_fields_and_the_summary_links_to_them() -> None:
    problem = ApiProblem(
        422, "Validation failed", "", [{"field": "patient.nhs_number", "message": "invalid check digit"}]
    )
    errors = FormErrors.from_problem(problem)
    assert errors.message("patient.nhs_number") == {"text": "Patient nhs number: invalid check digit"}
    assert errors.summary({"patient.nhs_number": "patient-nhs_number"}) == [
        {"text": "Patient nhs number: invalid check digit", "href": "#patient-nhs_number"}
    ]
    assert errors.summary({}) == [{"text": "Patient nhs number: invalid check digit"}]  # not on this page: no link
    general = FormErrors.from_problem(ApiProblem(409, "Conflict", "the case is closed"))
    assert general.summary() == [{"text": "the case is closed"}]


def test_a_question_page_saves_every_field_it_asks_for() -> None:
    page = PAGE_BY_SLUG["clinical"]
    form = FormData(
        [
            ("clinical-diagnosis", "Vasculitis"),
            ("clinical-previous_treatments-0-treatment", "Rituximab"),
            ("clinical-previous_treatments-0-outcome", "No response"),
        ]
    )
    body, _, errors = read(form, page.fields)
    changes = page_changes(page, body)
    assert not errors
    assert changes["clinical"]["diagnosis"] == "Vasculitis"
    assert changes["clinical"]["stage"] is None  # cleared on the page: cleared in the draft
    assert changes["clinical"]["previous_treatments"] == [{"treatment": "Rituximab", "outcome": "No response"}]
    shown = shown_from({"clinical": {"previous_treatments": [{"treatment": "R", "outcome": "x"}]}}, page.fields)
    assert shown["clinical.previous_treatments.0.treatment"] == "R"
    assert shown["clinical.previous_treatments.1.treatment"] == ""
    assert page_of("clinical.previous_treatments").slug == "clinical"
    assert page_of("urgency_reason").slug == "urgency"


def test_only_a_local_path_is_followed_after_sign_in() -> None:
    assert safe_next("/ifr/requests/1?x=1") == "/ifr/requests/1?x=1"
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example", None, "", "ifr/requests"):
        assert safe_next(hostile) == "/"


def test_history_entries_read_as_what_happened() -> None:
    assert history_entry("transition:request-information", {"information_needed": "scans"}) == (
        "Information requested from the clinician",
        "scans",
    )
    assert history_entry("transition:decide", {"outcome": "declined"}) == ("Panel decision recorded", "Declined")
    assert history_entry("update", {"fields": ["patient"]}) == ("Draft saved", "Sections: patient")
    assert history_entry("something_new", {})[0] == "Something new"
