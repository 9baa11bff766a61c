"""The case's copies of its letters carry the reasons; subjects carry only the reference."""

import pytest
from jinja2 import UndefinedError

from ifr_service.domain.letters import LETTER_EVENTS, letter_templates, render, wording_digest


def test_decision_letter_has_each_test_and_the_conditions() -> None:
    letter = render(
        "ifr.decision.made",
        {
            "reference": "IFR-2026-000001",
            "treatment_name": "Examplimab",
            "outcome": "approved_with_conditions",
            "decided_on": "2026-11-20",
            "reasons": {
                "exceptionality": "genetic variant",
                "clinical_effectiveness": "case series",
                "value_for_money": "cost acceptable",
            },
            "conditions": ["stop on progression"],
            "approved_cost": "15000.00",
            "clinician_name": "Dr Sam Consultant",
        },
    )
    assert letter is not None
    assert letter.kind == "decision"
    assert letter.subject == "Individual Funding Request IFR-2026-000001: decision"
    expected = ("approved with conditions", "genetic variant", "case series", "cost acceptable", "stop on progression")
    for text in expected:
        assert text in letter.body
    assert letter.body.startswith("Dear Dr Sam Consultant,")


def test_screening_letters_and_events_without_letters() -> None:
    out = render("ifr.request.screened_out", {"reference": "IFR-1", "reasons": ["cohort question"]})
    assert out is not None and out.kind == "screening_outcome" and "cohort question" in out.body
    redirected = render("ifr.request.redirected", {"reference": "IFR-1", "redirect_reason": "local ICB"})
    assert redirected is not None and "local ICB" in redirected.body
    assert render("ifr.request.submitted", {"reference": "IFR-1"}) is None


def test_a_chairs_action_letter_says_so_and_when_the_panel_ratifies() -> None:
    data = {
        "reference": "IFR-2026-000002",
        "treatment_name": "Examplimab",
        "outcome": "approved",
        "decided_on": "2026-11-20",
        "reasons": {"exceptionality": "a", "clinical_effectiveness": "b", "value_for_money": "c"},
        "approved_cost": "15000.00",
    }
    chair = render("ifr.decision.made", {**data, "basis": "chairs_action", "ratification_due": "2026-12-18"})
    assert chair is not None and "by chair's action" in chair.body and "by 2026-12-18" in chair.body
    panel = render("ifr.decision.made", {**data, "outcome": "declined", "supersedes": "d-1"})
    assert panel is not None and "The IFR panel has considered" in panel.body
    assert "replaces the earlier decision" in panel.body and "chair's action" not in panel.body


def test_each_letter_names_the_template_and_version_it_was_written_from() -> None:
    templates = letter_templates()
    letter = render("ifr.request.acknowledged", {"reference": "IFR-1", "screening_due": "2026-12-01"})
    assert letter is not None and letter.template == "acknowledgement"
    assert letter.version == templates["ifr.request.acknowledged"].version >= 1
    # one template per lettered event; the kinds are what the console shows
    assert set(LETTER_EVENTS) == set(templates) and len({t.name for t in templates.values()}) == len(templates)


def test_a_template_whose_wording_changed_has_a_new_version() -> None:
    """letters.toml records a digest of each template's wording with its version: a wording edited without
    a new version (and its digest recorded) would leave letters on file claiming a wording they lack."""
    stale = {t.name: wording_digest(t) for t in letter_templates().values() if wording_digest(t) != t.digest}
    assert stale == {}, f"raise the version of these templates in letters.toml and record their digests: {stale}"


def test_a_value_a_letter_needs_and_lacks_fails_the_render_instead_of_printing_a_blank() -> None:
    with pytest.raises(UndefinedError, match="treatment_name"):
        render("ifr.decision.made", {"reference": "IFR-1", "outcome": "approved", "decided_on": "2026-11-20"})
    # an optional sentence is left out, not failed
    letter = render("ifr.request.information_requested", {"reference": "IFR-1", "information_needed": "scan"})
    assert letter is not None and "Please reply by" not in letter.body


def test_the_wording_is_prose_not_markup_and_subjects_carry_only_the_reference() -> None:
    data = {"reference": "IFR-9", "information_needed": "<b>the scan</b> & report", "respond_by": "2027-01-04"}
    letter = render("ifr.request.information_requested", {**data, "nhs_number": "9990000018"})
    assert letter is not None and "<b>the scan</b> & report" in letter.body  # plain text: nothing escaped
    assert letter.subject == "Individual Funding Request IFR-9: information needed"
    for template in letter_templates().values():
        assert "{{ reference }}" in template.subject and template.subject.count("{{") == 1
