from __future__ import annotations

from datetime import date, timedelta

from casework.events.catalogue.cdf import StopReason
from cdf_service.domain.matching import ApprovalView, Given, match, regimens
from cdf_service.domain.stop_reasons import mask_of, reasons_of

PLANNED = date(2026, 5, 11)
DUE = PLANNED + timedelta(days=28)


PROGRESSION = mask_of([StopReason.PROGRESSION])


def course(start: date, cycles: int, every: int = 21, final: bool = False, reasons: int = PROGRESSION) -> list[Given]:
    days = [start + timedelta(days=every * k) for k in range(cycles)]
    last = days[-1] if final else None
    return [
        Given(start, k + 1, d, d, last if k + 1 == cycles else None, reasons if last else None)
        for k, d in enumerate(days)
    ]


def approval(ident: str = "A", status: str = "approved", first: date | None = None) -> ApprovalView:
    return ApprovalView(ident, status, PLANNED, DUE, first)


def test_a_regimen_starting_inside_the_window_is_the_approved_treatment() -> None:
    result = match([approval()], course(PLANNED + timedelta(days=3), 4, final=True), early_days=28)
    [treatment] = result.treatments
    assert treatment.approval_id == "A" and result.unapproved == ()
    assert treatment.regimen.first_administration == PLANNED + timedelta(days=3)
    assert [c.number for c in treatment.regimen.cycles] == [1, 2, 3, 4]
    assert treatment.regimen.final_treatment_date == PLANNED + timedelta(days=3 + 63)
    assert reasons_of(treatment.regimen.stop_reasons) == [StopReason.PROGRESSION]


def test_window_edges_early_start_counts_late_start_is_unapproved() -> None:
    assert match([approval()], course(PLANNED - timedelta(days=28), 1), 28).treatments
    assert match([approval()], course(DUE, 1), 28).treatments
    late = match([approval()], course(DUE + timedelta(days=1), 2), 28)
    assert late.treatments == () and [r.start for r in late.unapproved] == [DUE + timedelta(days=1)]
    too_early = match([approval()], course(PLANNED - timedelta(days=29), 1), 28)
    assert too_early.treatments == () and len(too_early.unapproved) == 1


def test_no_approval_means_every_regimen_is_unapproved_and_resubmitted_rows_collapse() -> None:
    rows = course(PLANNED, 3)
    result = match([], rows + rows, 28)
    assert [(r.start, len(r.cycles)) for r in result.unapproved] == [(PLANNED, 3)]


def test_a_started_approval_keeps_its_regimen_and_a_later_one_is_unapproved() -> None:
    first = course(PLANNED, 2)
    second = course(PLANNED + timedelta(days=200), 2)
    started = approval(status="treatment_started", first=PLANNED)
    result = match([started], first + second, 28)
    assert [t.regimen.start for t in result.treatments] == [PLANNED]
    assert [r.start for r in result.unapproved] == [PLANNED + timedelta(days=200)]


def test_lapsed_rejected_or_withdrawn_before_start_claim_nothing() -> None:
    rows = course(PLANNED, 1)
    for status in ("lapsed", "rejected", "withdrawn"):
        assert match([approval(status=status)], rows, 28).treatments == ()


def test_two_approvals_two_regimens_each_claims_its_own() -> None:
    later = ApprovalView("B", "approved", PLANNED + timedelta(days=300), DUE + timedelta(days=300), None)
    rows = course(PLANNED, 2) + course(PLANNED + timedelta(days=301), 2)
    result = match([later, approval()], rows, 28)
    assert {t.approval_id: t.regimen.start for t in result.treatments} == {
        "A": PLANNED,
        "B": PLANNED + timedelta(days=301),
    }


def test_regimens_take_the_earliest_cycle_start_and_latest_final_date() -> None:
    later = PLANNED + timedelta(days=21)
    rows = [
        Given(PLANNED, 1, PLANNED + timedelta(days=1), PLANNED + timedelta(days=1), None, None),
        Given(PLANNED, 1, PLANNED, PLANNED, None, None),
        Given(PLANNED, 2, later, later, later, mask_of([StopReason.COMPLETED])),
        Given(PLANNED, 2, later, later, later, mask_of([StopReason.TOXICITY])),  # another drug's row, that day
        Given(PLANNED, 1, PLANNED, PLANNED, PLANNED, mask_of([StopReason.DEATH])),  # an earlier final: not it
    ]
    [regimen] = regimens(rows)
    assert [(c.number, c.start) for c in regimen.cycles] == [(1, PLANNED), (2, later)]
    assert regimen.final_treatment_date == later
    assert reasons_of(regimen.stop_reasons) == [StopReason.COMPLETED, StopReason.TOXICITY]


def test_a_row_of_three_cycles_counts_three_dated_a_cycle_length_apart_all_given_that_day() -> None:
    pack = Given(PLANNED, 1, PLANNED, PLANNED, None, None, cycles=3, cycle_length_days=28, dispensed=True)
    following = Given(PLANNED, 4, PLANNED + timedelta(days=84), PLANNED + timedelta(days=84), None, None)
    [regimen] = regimens([pack, following])
    assert [(c.number, c.start, c.given_on) for c in regimen.cycles] == [
        (1, PLANNED, PLANNED),
        (2, PLANNED + timedelta(days=28), PLANNED),
        (3, PLANNED + timedelta(days=56), PLANNED),
        (4, PLANNED + timedelta(days=84), PLANNED + timedelta(days=84)),
    ]
    assert [c.dispensed for c in regimen.cycles] == [True, True, True, False] and regimen.first_dispensed
    # the same pack reported again, and its cycle 2 reported on its own: still four cycles
    again = regimens([pack, pack, following, Given(PLANNED, 2, PLANNED + timedelta(days=28), PLANNED, None, None)])
    assert len(again[0].cycles) == 4


def test_an_earlier_cycle_arriving_later_stays_with_the_started_approval() -> None:
    # cycle 2 reached SACT first and started the approval; cycle 1 comes in a later submission
    rows = course(PLANNED, 2)
    started = match([approval()], rows[1:], 28)
    [first] = started.treatments
    assert first.regimen.first_administration == PLANNED + timedelta(days=21)
    later = match([approval(status="treatment_started", first=PLANNED + timedelta(days=21))], rows, 28)
    [treatment] = later.treatments
    assert later.unapproved == () and [c.number for c in treatment.regimen.cycles] == [1, 2]
    assert treatment.regimen.first_administration == PLANNED  # the caller corrects the recorded start


def test_a_started_approval_does_not_claim_a_regimen_that_began_after_its_start() -> None:
    restarted = course(PLANNED, 2) + course(PLANNED + timedelta(days=120), 1)
    result = match([approval(status="treatment_started", first=PLANNED)], restarted, 28)
    assert [t.regimen.start for t in result.treatments] == [PLANNED]
    assert [r.start for r in result.unapproved] == [PLANNED + timedelta(days=120)]
