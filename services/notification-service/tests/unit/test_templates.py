from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.events.registry import registry
from notification_service.domain.routing import packaged_routing_config
from notification_service.domain.secure_domains import SecureDomains
from notification_service.domain.templates import (
    PatientIdentifierInMail,
    TemplateRenderError,
    TemplateSet,
    TemplateSource,
    check_source,
    redact_identifiers,
    secure_subject,
    subject_problems,
    template_context,
)

TEMPLATES = TemplateSet.packaged()
ROUTED = sorted(packaged_routing_config().table.template_names())
NHS = SecureDomains(domains=("nhs.net", "uclh.nhs.uk"))


def source(
    subject: str, text: str = "Ref {{ reference }} {{ link }}", html: str = "<p>{{ link }}</p>"
) -> TemplateSource:
    return TemplateSource("custom", 1, subject, text, html)


@pytest.mark.parametrize("name", ROUTED)
def test_every_routed_template_renders_its_sample(name: str) -> None:
    rendered = TEMPLATES.preview(name)
    sample = TEMPLATES.sample(name)
    assert rendered.subject and "\n" not in rendered.subject
    assert sample["link"] in rendered.text
    assert sample["link"].replace("&", "&amp;") in rendered.html
    if sample["case_reference"]:
        assert sample["case_reference"] in rendered.text
    assert subject_problems(rendered.subject, sample) == []


@pytest.mark.parametrize("name", ROUTED)
def test_bodies_carry_no_clinical_detail_from_the_sample(name: str) -> None:
    sample = TEMPLATES.sample(name)
    rendered = TEMPLATES.preview(name)
    for clinical in ("indication", "treatment_name", "patient_ref", "reasons"):
        value = sample.get(clinical)
        if isinstance(value, str) and name.startswith(("cdf", "ifr_decision")):
            assert value not in rendered.text, clinical


def test_text_lines_are_wrapped_except_links() -> None:
    rendered = TEMPLATES.preview("ifr_request_information_requested")
    assert all(len(line) <= 76 or line.startswith("http") for line in rendered.text.splitlines())


@pytest.mark.parametrize(
    "subject",
    [
        "IFR for {{ nhs }}",
        "IFR for {{ nhs_spaced }}",
        "Case IFR-1 born {{ dob }}",
        "Case IFR-1 born 1 February 1960",
        "Jane Example's IFR",
    ],
)
def test_subject_with_patient_identifier_is_rejected(subject: str) -> None:
    context = {
        "reference": "IFR-1",
        "link": "https://x/",
        "nhs": "9434765919",
        "nhs_spaced": "943 476 5919",
        "dob": "01/02/1960",
        "patient_name": "Jane Example",
    }
    with pytest.raises(PatientIdentifierInMail):
        TEMPLATES.__class__([source(subject)]).render("custom", context)


def test_identifier_value_in_body_is_rejected() -> None:
    context = {"reference": "IFR-1", "link": "https://x/", "patient": {"nhs_number": "999 000 0018"}}
    bad = source("IFR {{ reference }}", text="Patient {{ patient.nhs_number }}")
    with pytest.raises(PatientIdentifierInMail):
        TemplateSet([bad]).render("custom", context)


@given(st.from_regex(r"\A[0-9]{10}\Z"))
def test_any_ten_digit_run_in_a_subject_is_a_problem(digits: str) -> None:
    assert subject_problems(f"Case {digits} update", {}) != []
    assert digits not in redact_identifiers(f"Case {digits} update")


def test_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(TemplateRenderError):
        TemplateSet([source("IFR {{ reference }}")]).render("custom", {"link": "https://x/"})


def test_html_is_autoescaped_and_text_is_not() -> None:
    s = source("IFR {{ reference }}", text="{{ note }} {{ link }}", html="<p>{{ note }}</p>")
    rendered = TemplateSet([s]).render("custom", {"reference": "R", "link": "l", "note": "<b>&"})
    assert "<b>&" in rendered.text
    assert "&lt;b&gt;&amp;" in rendered.html


def test_sandbox_blocks_python_internals() -> None:
    problems = check_source(source("{{ ''.__class__.__mro__ }}"), {"reference": "R", "link": "l"})
    assert problems


def test_subject_cannot_inject_headers() -> None:
    s = source("IFR {{ reference }}")
    rendered = TemplateSet([s]).render("custom", {"reference": "R\r\nBcc: x@evil.com", "link": "l"})
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_stored_versions_override_and_are_selectable() -> None:
    v2 = TemplateSource("ifr_request_acknowledged", 2, "IFR {{ reference }}: we have it", "{{ link }}", "{{ link }}")
    templates = TemplateSet.packaged([v2])
    assert templates.versions("ifr_request_acknowledged") == [1, 2]
    context = TEMPLATES.sample("ifr_request_acknowledged")
    assert templates.render("ifr_request_acknowledged", context).subject.endswith("we have it")
    assert templates.render("ifr_request_acknowledged", context, version=1).subject.endswith("received")


def test_check_source_reports_a_bad_edit() -> None:
    sample = TEMPLATES.sample("ifr_request_acknowledged")
    assert check_source(TEMPLATES.source("ifr_request_acknowledged"), sample) == []
    assert check_source(source("IFR {{ reference }} {% if %}"), sample)
    assert check_source(source("IFR {{ no_such_field }}"), sample) == [
        "subject: UndefinedError: 'no_such_field' is undefined"
    ]


def test_check_source_refuses_identifier_fields_in_a_subject_whatever_the_sample() -> None:
    # the sample has no nhs_number, so rendering alone would not catch it ({% if %} hides it)
    edit = source("IFR {{ reference }}{% if nhs_number is defined %} {{ nhs_number }}{% endif %}")
    problems = check_source(edit, TEMPLATES.sample("ifr_request_acknowledged"))
    assert problems == [
        "subject: uses the patient identifier field(s) nhs_number; subjects carry no patient identifiers"
    ]


@pytest.mark.parametrize(
    "subject",
    [
        "IFR {{ reference }} for {{ patient.nhs_number }}",
        "IFR {{ reference }} for {{ application['nhs_number'] }}",
        "IFR {{ reference }} for {{ nhs_no }}",
        "IFR {{ reference }}: {{ forename }} {{ surname }}",
        "IFR {{ reference }}: {{ patient.given_name }}",
        "IFR {{ reference }}{% if patient_first_name is defined %} {{ patient_first_name }}{% endif %}",
        "IFR {{ reference }} ({{ local_patient_id | default('') }})",
    ],
)
def test_check_source_refuses_identifiers_however_a_subject_reaches_them(subject: str) -> None:
    problems = check_source(source(subject), TEMPLATES.sample("ifr_request_acknowledged"))
    assert len(problems) == 1 and problems[0].startswith("subject: uses the patient identifier field(s)")


def test_check_source_allows_the_case_reference_and_other_names_in_a_subject() -> None:
    sample = TEMPLATES.sample("contract_budget_at_risk")
    for subject in (
        "Budget at risk: {{ line_name }} at {{ provider_ods }}",
        "Case {{ case_reference }}: {{ line_name }}",
    ):
        assert check_source(source(subject, text="{{ link }}"), sample) == []


@pytest.mark.parametrize("printed", ["999.000.0018", "999 000\t0018", "999-000-0018", "9990000018"])
def test_an_nhs_number_printed_with_any_separator_is_refused_in_a_subject(printed: str) -> None:
    assert subject_problems(f"Case {printed}", {}) != []


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        ("a.clinician@nhs.net", "IFR R: received"),
        ("a.clinician@NHS.NET", "IFR R: received"),
        ("team@mail.uclh.nhs.uk", "IFR R: received"),
        ("someone@gmail.com", "[secure] IFR R: received"),
        ("someone@nhs.net.evil.com", "[secure] IFR R: received"),
        ("someone@uclh.nhs.uk.example.com", "[secure] IFR R: received"),
    ],
)
def test_secure_prefix_outside_accredited_domains(recipient: str, expected: str) -> None:
    assert secure_subject("IFR R: received", recipient, NHS) == expected


def test_secure_prefix_is_not_doubled() -> None:
    assert secure_subject("[secure] X", "a@gmail.com", NHS) == "[secure] X"


def test_template_context_adds_link_and_reference() -> None:
    context: dict[str, Any] = template_context({"reference": "R", "x": date(2026, 1, 1)}, link="L", case_reference="R")
    assert context["link"] == "L" and context["case_reference"] == "R" and context["x"] == date(2026, 1, 1)


def test_long_date_and_money_filters() -> None:
    s = source("IFR {{ reference }}", text="{{ d | long_date }} {{ m | money }} {{ link }}")
    rendered = TemplateSet([s]).render("custom", {"reference": "R", "link": "l", "d": "2026-06-01", "m": "1234.5"})
    assert "1 June 2026 £1,234.50" in rendered.text


def test_a_reference_whose_digits_run_to_ten_is_not_an_nhs_number() -> None:
    # cdf-service references are CDF-<10 hex>: about 1 in 100 is all digits
    payload = {"reference": "CDF-9434765919"}
    assert subject_problems("CDF application CDF-9434765919: approved", payload) == []
    rendered = TEMPLATES.render("cdf_application_approved", TEMPLATES.sample("cdf_application_approved") | payload)
    assert "CDF-9434765919" in rendered.subject
    # the same digits anywhere else, or a "reference" that is only a number, are still refused
    assert subject_problems("CDF-9434765919 for 9434765919", payload)
    assert subject_problems("Case 9434765919", {"reference": "9434765919"})
    assert subject_problems("Case XY-1 9434765919", {"reference": "XY-1"})


@pytest.mark.parametrize("route", packaged_routing_config().table.routes, ids=lambda r: r.event)
def test_every_routed_sample_is_a_valid_payload_of_its_event(route: Any) -> None:
    sample = {k: v for k, v in TEMPLATES.sample(route.template).items() if k not in ("link", "case_reference")}
    registry.get(route.event).payload.model_validate(sample)


def decision(**changes: Any) -> str:
    """The decision mail's text and HTML, whitespace folded (text is wrapped), joined by ` | `."""
    rendered = TEMPLATES.render("ifr_decision_made", TEMPLATES.sample("ifr_decision_made") | changes)
    return " ".join(rendered.text.split()) + " | " + " ".join(rendered.html.split())


def test_a_chairs_action_says_so_and_when_the_panel_will_ratify_it() -> None:
    mail = decision(basis="chairs_action", urgent=True, ratification_due=date(2026, 7, 8))
    text, html = mail.split(" | ")
    for part in (text, html):
        assert "chair of the IFR panel has decided" in part and "by chair's action" in part
        assert "ratify it or replace it with its own decision by 8 July 2026" in part
        assert "The IFR panel has decided" not in part and "replaces the earlier decision" not in part


def test_a_decision_replacing_another_says_it_now_stands() -> None:
    mail = decision(basis="panel", urgent=True, supersedes="4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f")
    text, html = mail.split(" | ")
    for part in (text, html):
        assert "The IFR panel has decided" in part
        assert "replaces the earlier decision on this request" in part and "overturned" in part
        assert "by chair's action:" not in part


@pytest.mark.parametrize("changes", [{}, {"basis": "panel", "supersedes": None, "ratification_due": None}])
def test_a_first_panel_decision_mentions_neither(changes: dict[str, Any]) -> None:
    # an event from before chair's actions existed carries none of the new fields: it still renders
    sample = TEMPLATES.sample("ifr_decision_made")
    old = {k: v for k, v in sample.items() if k not in ("basis", "decision_id", "decision_number")}
    rendered = TEMPLATES.render("ifr_decision_made", old | changes)
    assert "The IFR panel has decided" in rendered.text
    assert "chair's action" not in rendered.text and "replaces" not in rendered.text


def test_ratification_mail_names_the_case_and_the_ratification_not_the_clinical_detail() -> None:
    sample = TEMPLATES.sample("ifr_decision_ratified")
    rendered = TEMPLATES.preview("ifr_decision_ratified")
    assert rendered.subject == f"IFR {sample['reference']}: urgent decision ratified"
    text = " ".join(rendered.text.split())
    assert "has ratified the urgent decision" in text and "stands unchanged" in text
    assert sample["case_reference"] in text and sample["link"] in text
    assert sample["link"] in rendered.html and "has ratified the urgent decision" in rendered.html
    assert subject_problems(rendered.subject, sample) == []


@pytest.mark.parametrize(
    ("outcome", "adjustment", "says"),
    [
        ("accepted", "0.00", "you accepted the challenge. The challenged lines are not funded."),
        ("upheld", "0.00", "upheld the challenge after your dispute. The challenged lines are not funded."),
        ("evidence_accepted", "18420.75", "accepted your evidence. The challenged lines are funded: £18,420.75"),
        ("withdrawn", "120.00", "withdrew the challenge. The challenged lines are funded: £120.00"),
    ],
)
def test_validation_query_resolution_says_what_is_funded(outcome: str, adjustment: str, says: str) -> None:
    sample = TEMPLATES.sample("contract_validation_query_resolved") | {
        "outcome": outcome,
        "funded_adjustment": adjustment,
    }
    rendered = TEMPLATES.render("contract_validation_query_resolved", sample)
    assert says in " ".join(rendered.text.split())
    assert says in " ".join(re.sub(r"<[^>]+>", " ", rendered.html).split())


@settings(max_examples=30)
@given(st.from_regex(r"\A[0-9a-f]{64}\Z"))
def test_a_real_patient_ref_never_trips_the_body_guard(ref: str) -> None:
    # patient_ref is an HMAC-SHA256 in hex: 64 characters cannot occur in a mail by chance. A made-up
    # short one can ("p-x" is in the HTML's "16px"): the guard refuses that mail, and that is right.
    for name in ROUTED:
        TEMPLATES.render(name, TEMPLATES.sample(name) | {"patient_ref": ref})
    with pytest.raises(PatientIdentifierInMail):
        TEMPLATES.render(
            "cdf_application_approved", TEMPLATES.sample("cdf_application_approved") | {"patient_ref": "p-x"}
        )


def test_check_source_names_the_part_a_rendered_identifier_is_in() -> None:
    sample = TEMPLATES.sample("ifr_request_acknowledged")
    assert check_source(source("IFR {{ reference }} due {{ screening_due }}"), sample) == [
        "subject: contains a date (possible date of birth)"
    ]
    sample_with_name = sample | {"patient_name": "Jane Example"}
    assert check_source(source("IFR {{ reference }}", text="For Jane Example {{ link }}"), sample_with_name) == [
        "text: contains a patient identifier from the payload"
    ]
