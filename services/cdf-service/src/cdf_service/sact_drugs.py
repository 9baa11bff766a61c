"""The SACT drug reference list: anti-cancer drugs that are not on the CDF list, with their dm+d ids.

A SACT row must name a known drug: one of these, or a drug of the national CDF list. The file is
`data/sact_drugs.csv` (`drug_name,dmd_ids`, ids space-separated; plausible ids, valid check digits).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

REFERENCE = Path(__file__).parent / "data" / "sact_drugs.csv"


@cache
def reference_drugs(path: Path = REFERENCE) -> dict[str, tuple[str, ...]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["drug_name"]: tuple(row["dmd_ids"].split()) for row in csv.DictReader(handle)}
