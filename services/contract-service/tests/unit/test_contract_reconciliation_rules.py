"""Reconciliation of a seeded month: known matches and mismatches give exactly the expected queries."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from contract_service.domain.budget_lines import FundingSource
from contract_service.domain.reconciliation import Authority, LineToReconcile, group_queries, reconcile

DRUG_A, DRUG_B = "3762011000001109", "3762111000001105"
CDF_P1 = Authority(uuid.UUID(int=1), FundingSource.CDF, "CDF-0001", "RRV", "p1", DRUG_A, date(2026, 4, 10))
CDF_P2_STOPPED = Authority(
    uuid.UUID(int=2), FundingSource.CDF, "CDF-0002", "RRV", "p2", DRUG_A, date(2026, 4, 1), date(2026, 5, 10)
)
IFR_P3 = Authority(uuid.UUID(int=3), FundingSource.IFR, "IFR-0003", "RRV", "p3", None, date(2026, 5, 2))
CDF_OTHER_TRUST = Authority(uuid.UUID(int=4), FundingSource.CDF, "CDF-0004", "RDE", "p4", DRUG_A, date(2026, 4, 1))
AUTHORITIES = [CDF_P1, CDF_P2_STOPPED, IFR_P3, CDF_OTHER_TRUST]


def line(
    row: int, patient: str, drug: str, day: int, cost: str, ref: str | None = None, ods: str = "RRV"
) -> LineToReconcile:
    return LineToReconcile(row, ods, "2026-05", patient, drug, date(2026, 5, day), Decimal(cost), ref)


SEEDED_MONTH = [
    line(1, "p1", DRUG_A, 3, "100.00"),  # CDF match by patient + drug + provider + date
    line(2, "p1", DRUG_A, 4, "100.00", "CDF-0001"),  # quoted reference fits
    line(3, "p1", DRUG_B, 5, "250.00"),  # approval is for another drug -> query
    line(4, "p2", DRUG_A, 9, "300.00"),  # before the stop date
    line(5, "p2", DRUG_A, 20, "300.00"),  # after the treatment stopped -> query
    line(6, "p3", DRUG_B, 2, "400.00", "IFR-0003"),  # IFR with no drug code covers the drug
    line(7, "p3", DRUG_B, 1, "400.00", "IFR-0003"),  # before the IFR decision -> query
    line(8, "p9", DRUG_A, 7, "50.00"),  # nobody approved -> query
    line(9, "p1", DRUG_A, 8, "100.00", "CDF-9999"),  # unknown reference but a fitting approval exists
    line(10, "p4", DRUG_A, 8, "75.00", "CDF-0004", ods="RRV03"),  # approval at another trust -> query
    line(11, "p4", DRUG_A, 8, "80.00", "CDF-0004", ods="RDE"),  # the right trust
    line(12, "p1", DRUG_A, 9, "120.00", ods="RRV03"),  # a site of the approving trust
]


def test_seeded_month_gives_exactly_the_expected_outcomes_and_queries() -> None:
    outcomes = reconcile(SEEDED_MONTH, AUTHORITIES)
    authorised = {o.row: o.authority_id.int for o in outcomes if o.authority_id}
    assert authorised == {1: 1, 2: 1, 4: 2, 6: 3, 9: 1, 11: 4, 12: 1}
    reasons = {o.row: o.reason for o in outcomes}
    assert reasons[3] == "no CDF or IFR approval for this patient and drug"
    assert reasons[5] == "no CDF or IFR approval for this patient and drug"
    assert reasons[7] == "administered before approval IFR-0003 was given"
    assert reasons[8] == "no CDF or IFR approval for this patient and drug"
    assert reasons[9] == "matched CDF-0001; approval reference CDF-9999 is not known"
    assert reasons[10] == "approval CDF-0004 is for another provider"
    assert {o.row: o.source for o in outcomes if o.authorised}[6] == FundingSource.IFR

    queries = group_queries(SEEDED_MONTH, outcomes)
    assert [(q.provider_ods, q.period, q.rows, q.challenged_value) for q in queries] == [
        ("RRV", "2026-05", (3, 5, 7, 8, 10), Decimal("1075.00"))
    ]


def test_queries_are_grouped_per_provider_per_month() -> None:
    lines = [
        line(1, "x", DRUG_A, 1, "10"),
        line(2, "y", DRUG_A, 1, "20", ods="RDE"),
        LineToReconcile(3, "RRV", "2026-06", "x", DRUG_A, date(2026, 6, 1), Decimal(5)),
        line(4, "z", DRUG_A, 2, "1", ods="RRV01"),
    ]
    queries = group_queries(lines, reconcile(lines, []))
    assert [(q.provider_ods, q.period, q.rows) for q in queries] == [
        ("RDE", "2026-05", (2,)),
        ("RRV", "2026-05", (1, 4)),
        ("RRV", "2026-06", (3,)),
    ]
    assert group_queries(SEEDED_MONTH[:2], reconcile(SEEDED_MONTH[:2], AUTHORITIES)) == []
