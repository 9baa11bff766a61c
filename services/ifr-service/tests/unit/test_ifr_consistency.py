"""Decision consistency: the statistics against published values, and the report's counts and flags."""

from datetime import date

import pytest

from ifr_service.domain.consistency import (
    ClockOutcome,
    RequestRecord,
    compare,
    consistency_report,
    csv_rows,
    fisher_p,
    holm,
    wilson_interval,
)

DAY = date(2026, 8, 3)  # a Monday
AS_OF = date(2026, 10, 1)


@pytest.mark.parametrize(
    ("approved", "decided", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, table II, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe(approved: int, decided: int, low: float, high: float) -> None:
    interval = wilson_interval(approved, decided)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_no_interval_without_decisions() -> None:
    assert wilson_interval(0, 0) is None


def test_fisher_exact_matches_known_values() -> None:
    # Fisher's tea-tasting experiment: two-sided p = 34/70
    assert fisher_p(3, 1, 1, 3) == pytest.approx(0.485714, abs=1e-6)
    # the dieting by sex example (R's fisher.test, two-sided): p = 0.002759
    assert fisher_p(1, 9, 11, 3) == pytest.approx(0.002759, abs=1e-6)


def test_holm_matches_r_p_adjust() -> None:
    # p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") in R
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_compare_needs_two_groups_that_decided() -> None:
    assert compare("t", {"Y56": (3, 1)}) == []
    assert compare("t", {"Y56": (3, 1), "Y61": (0, 0)}) == []
    pair = compare("t", {"Y56": (1, 9), "Y61": (11, 3)})
    assert [(c.group, c.others_approved, c.others_declined) for c in pair] == [("Y56", 11, 3), ("Y61", 1, 9)]
    assert pair[0].p_value == pytest.approx(0.002759, abs=1e-6)


def _decided(treatment: str, region: str, panel: str, approved: int, declined: int) -> list[RequestRecord]:
    outcomes = ["approved"] * approved + ["declined"] * declined
    return [
        RequestRecord(treatment, treatment.title(), DAY, region, panel, outcome, DAY)
        for outcome in outcomes  # every one decided on the day it came
    ]


def test_a_region_set_apart_for_one_treatment_is_the_only_flag() -> None:
    records = [
        *_decided("drug-a", "Y56", "p-london", 8, 2),
        *_decided("drug-a", "Y59", "p-south-east", 8, 2),
        *_decided("drug-a", "Y60", "p-midlands", 7, 3),
        *_decided("drug-a", "Y61", "p-east", 1, 9),  # set apart
        *_decided("drug-b", "Y56", "p-london", 5, 5),
        *_decided("drug-b", "Y59", "p-south-east", 6, 4),
        *_decided("drug-b", "Y60", "p-midlands", 4, 6),
        *_decided("drug-b", "Y61", "p-east", 5, 5),
        RequestRecord("drug-a", "Drug-A", DAY, "Y61", screened_out=True),
        RequestRecord("drug-a", "Drug-A", DAY, None),  # no region: counted, not tested
    ]
    panels = {"p-east": {"name": "East panel", "region": "Y61"}}
    report = consistency_report(records, date(2026, 7, 1), date(2026, 9, 30), AS_OF, panels)
    flags = [(f["grouping"], f["treatment"], f["group"]) for f in report["flags"]]
    assert flags == [("region", "drug-a", "Y61"), ("panel", "drug-a", "p-east")]
    flag = report["flags"][0]
    assert (flag["approved"], flag["declined"], flag["others_approved"], flag["others_declined"]) == (1, 9, 23, 7)
    assert flag["direction"] == "lower" and flag["name"] == "East of England"
    assert (
        flag["adjusted_p_value"]
        < 0.05
        <= min(
            r["adjusted_p_value"]
            for t in report["treatments"]
            for r in t["by_region"]
            if r["p_value"] and not r["flagged"]
        )
    )
    assert report["flags"][1]["name"] == "East panel" and report["flags"][1]["region"] == "Y61"
    assert report["comparisons"] == {"region": 8, "panel": 8}

    overall = report["overall"]
    assert (overall["requests"], overall["screened_out"], overall["approved"], overall["declined"]) == (82, 1, 44, 36)
    assert overall["undecided"] == 1 and overall["approval_rate"] == round(44 / 80, 4)
    drug_a = report["treatments"][0]
    east = next(r for r in drug_a["by_region"] if r["group"] == "Y61")
    assert (east["requests"], east["screened_out"], east["approved"], east["declined"]) == (11, 1, 1, 9)
    assert east["approval_interval"]["low"] < 0.1 < east["approval_interval"]["high"]
    assert drug_a["by_region"][-1]["group"] is None and drug_a["by_region"][-1]["p_value"] is None
    assert [r["group"] for r in drug_a["by_panel"]] == ["p-east", "p-london", "p-midlands", "p-south-east"]


def test_time_to_decision_against_the_clocks() -> None:
    records = [
        RequestRecord(
            "t",
            "T",
            DAY,
            "Y56",
            "p",
            "approved",
            date(2026, 8, 17),  # ten working days after receipt
            clocks=(ClockOutcome("panel_decision", date(2026, 8, 31), date(2026, 8, 17)),),
        ),
        RequestRecord(
            "t",
            "T",
            DAY,
            "Y56",
            "p",
            "declined",
            date(2026, 9, 1),
            clocks=(ClockOutcome("panel_decision", date(2026, 8, 31), date(2026, 9, 1)),),
        ),
        RequestRecord("t", "T", DAY, "Y56", clocks=(ClockOutcome("panel_decision", date(2026, 8, 31)),)),
        RequestRecord("t", "T", DAY, "Y56", clocks=(ClockOutcome("panel_decision", date(2026, 8, 31), paused=True),)),
        RequestRecord(
            "t", "T", DAY, "Y56", screened_out=True, clocks=(ClockOutcome("panel_decision", DAY, cancelled=True),)
        ),
    ]
    result = consistency_report(records, DAY, DAY, AS_OF)["overall"]
    assert result["timeliness"]["panel_decision"] == {"met": 1, "missed": 1, "open_overdue": 1, "met_pct": 50.0}
    assert result["median_working_days_to_decision"] == 15  # 10 and 20 working days (31 August is a bank holiday)
    assert result["undecided"] == 2 and result["screened_out"] == 1


def test_csv_rows_hold_every_group_and_the_flags() -> None:
    records = [*_decided("a", "Y56", "p1", 1, 9), *_decided("a", "Y61", "p2", 11, 3)]
    report = consistency_report(records, DAY, DAY, AS_OF)
    rows = csv_rows(report)
    value = {(r["treatment"], r["grouping"], r["group"], r["measure"]): r["value"] for r in rows}
    assert value[("", "overall", "", "requests")] == 24
    assert value[("a", "region", "Y56", "approved")] == 1
    assert value[("a", "region", "Y61", "flagged")] is True
    assert value[("a", "flag:region", "Y56", "others_approved")] == 11
    assert value[("a", "panel", "p2", "panel_decision_met")] == 0
