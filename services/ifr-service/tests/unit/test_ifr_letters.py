"""The case's copies of its letters carry the reasons; subjects carry only the reference."""

from ifr_service.domain.letters import render


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
