"""SACT piece validation in one process: the row-at-a-time validator vs the columnar one, on the same pieces.

A synthetic trust's SACT file (v4.0, or v3.0 with --sact-version 3; injected bad rows as the ingest bench
has them) is cut into pieces as the service cuts an upload (SACT_PIECE_BYTES, at record boundaries), and
each piece goes through `validate_piece_by_rows` (RowValidator: rows split and checked one at a time)
and `validate_piece` (Polars, a column at a time; the rows it declines through RowValidator.problems),
each with validators of its own, as a validation process has them. Both paths are timed in this process
(CPU seconds and wall clock, in turns, `--rounds` times), so the machine's load moves both alike; the
results are compared piece by piece (COPY CSV, problems, listed pairs, duplicate keys) and must be equal.

    .venv/bin/python bench/cdf_sact_validator.py [--rows 200000] [--sact-version 4] [--rounds 2]
    .venv/bin/python bench/cdf_sact_validator.py --small   # pieces of 1 to 3,000 rows, CPU per piece
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import print_table
from cdf_service.domain.sact_records import record_boundary
from cdf_service.domain.sact_rows import DrugDictionary
from cdf_service.sact import pieces
from cdf_service.sact.pieces import PieceResult, ValidatorSpec, validate_piece, validate_piece_by_rows
from cdf_service.sact_drugs import reference_drugs
from cdf_service.sact_schema import SactSchema, schema_for
from cdf_service.synthetic.national import TrustPlan, build_trust, seed_entries
from cdf_service.synthetic.sact_files import bad_kinds, write_sact_csv

TRUST = "RRV"
PIECE_BYTES = 4 * 1024 * 1024  # the service's SACT_PIECE_BYTES default
ROWS_PER_COURSE = 7.36  # as bench/cdf_sact_ingest.py


def generate(rows: int, schema: SactSchema) -> tuple[list[str], list[bytes], date]:
    """The file's header and its pieces."""
    rng = random.Random(2026)
    cdf = max(rows // 500, 20)
    plan = TrustPlan(cdf_patients=cdf, routine_patients=int(rows / ROWS_PER_COURSE) - cdf)
    text = io.StringIO()
    bad = dict.fromkeys(bad_kinds(schema), 5)
    write_sact_csv(text, build_trust(TRUST, plan, rng).courses, plan.as_of, rng, bad, schema)
    header, body = text.getvalue().encode().split(b"\n", 1)
    cut: list[bytes] = []
    while body:
        end = record_boundary(body, PIECE_BYTES) or len(body)
        cut.append(body[:end])
        body = body[end:]
    return header.decode().split(","), cut, plan.as_of


def _drugs() -> DrugDictionary:
    return DrugDictionary.build(reference_drugs(), {e.drug_name: e.dmd_ids for e in seed_entries().values()})


def run(
    validate: Callable[[ValidatorSpec, int, bytes], PieceResult], spec: ValidatorSpec, cut: list[bytes]
) -> tuple[list[PieceResult], float, float]:
    """Every piece through `validate` with new validators (as a new submission has): results, CPU s, wall s."""
    pieces._validators.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    results, first = [], 0
    for data in cut:
        results.append(validate(spec, first, data))
        first += results[-1].rows
    return results, time.process_time() - cpu, time.perf_counter() - wall


def main(rows: int, schema: SactSchema, rounds: int) -> None:
    started = time.perf_counter()
    header, cut, as_of = generate(rows, schema)
    drugs = _drugs()
    spec = ValidatorSpec("bench", schema.version, tuple(header), TRUST, drugs, b"bench-key", as_of)
    size = sum(map(len, cut)) / 1e6
    print(f"{schema.title}: {size:.0f} MB in {len(cut)} pieces, generated in {time.perf_counter() - started:.0f} s")
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    table, total = [], 0
    for round_no in range(1, rounds + 1):
        timings = {}
        for name, validate in (("rows (RowValidator)", validate_piece_by_rows), ("columnar (Polars)", validate_piece)):
            results, cpu, wall = run(validate, spec, cut)
            timings[name] = (results, cpu, wall)
        (old, old_cpu, old_wall), (new, new_cpu, new_wall) = timings.values()
        total = sum(r.rows for r in old)
        same = all(
            (a.csv, a.problems, a.rows, a.listed, a.keys) == (b.csv, b.problems, b.rows, b.listed, b.keys)
            for a, b in zip(old, new, strict=True)
        )
        assert same, "the two paths differ"
        for name, (_results, cpu, wall) in timings.items():
            table.append(
                {
                    "round": round_no,
                    "path": name,
                    "rows": total,
                    "cpu_s": round(cpu, 2),
                    "wall_s": round(wall, 2),
                    "rows_per_cpu_s": round(total / cpu),
                    "us_cpu_per_row": round(cpu / total * 1e6, 2),
                }
            )
        table.append(
            {
                "round": round_no,
                "path": "ratio rows / columnar",
                "cpu_s": round(old_cpu / new_cpu, 2),
                "wall_s": round(old_wall / new_wall, 2),
            }
        )
    print_table(f"validate_piece on {total:,} {schema.title} rows ({len(cut)} pieces, identical results)", table)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def small_pieces(schema: SactSchema, repeats: int = 100) -> None:
    """CPU per piece of a few rows on each path (a new submission's validators each time, as the service
    has them): where `pieces.validate_stored_piece` switches from rows to columns."""
    header, cut, as_of = generate(6000, schema)
    lines = cut[0].split(b"\n")
    drugs = _drugs()
    table = []
    for size in (1, 10, 100, 1000, 3000):
        data = b"\n".join(lines[:size]) + b"\n"
        cpu_ms = {}
        for name, validate in (("rows", validate_piece_by_rows), ("columns", validate_piece)):
            started = time.process_time()
            for n in range(repeats):
                validate(ValidatorSpec(f"small-{n}", schema.version, tuple(header), TRUST, drugs, b"k", as_of), 0, data)
            cpu_ms[name] = (time.process_time() - started) / repeats * 1000
        chosen = "rows" if data.count(b"\n") < pieces.ROW_AT_A_TIME_BELOW_LINES else "columns"
        table.append(
            {
                "rows": size,
                "rows_cpu_ms": round(cpu_ms["rows"], 2),
                "columns_cpu_ms": round(cpu_ms["columns"], 2),
                "ratio_columns_rows": round(cpu_ms["columns"] / cpu_ms["rows"], 2),
                "validate_stored_piece_takes": chosen,
            }
        )
    print_table(f"CPU per small piece, {schema.title} (mean of {repeats})", table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--sact-version", default="4")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="per-piece CPU of pieces of 1 to 3,000 rows")
    args = parser.parse_args()
    chosen = schema_for(args.sact_version)
    if chosen is None:
        parser.error(f"no SACT version {args.sact_version!r}")
    if args.small:
        small_pieces(chosen)
    else:
        main(args.rows, chosen, args.rounds)
