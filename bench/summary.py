"""Every benchmark with a target, one after another, and one table of their figures (`make bench`).

Each benchmark runs as its own process (its own stack, as when run alone), records its judged figures
through `bench.harness.figure` into a file, and this prints, per figure, the median of the runs: value,
baseline, ratio, target, met or missed. `--quick` runs small sizes as a check that every benchmark still
works (minutes, not figures: a quick run's verdicts are not judged). Benchmarks stay out of `make test`.

    .venv/bin/python -m bench.summary [--quick] [--runs 3] [--only cdf_applications,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import FIGURES_ENV, Figure, print_table

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Benchmark:
    name: str
    full: tuple[str, ...]  # arguments at the acceptance size
    quick: tuple[str, ...]  # a small size: does it still run?


BENCHMARKS = (
    Benchmark("cdf_applications", ("--duration", "20"), ("--duration", "3", "--concurrency", "8")),
    Benchmark("cdf_sact_ingest", ("--rows", "1000000"), ("--rows", "20000")),
    Benchmark(
        "contract_forecast_latency",
        ("--variant", "sact-start", "--rate", "100", "--starts-per-post", "10"),
        ("--variant", "sact-start", "--sact-count", "50", "--sact-warmup", "50", "--count", "50"),
    ),
    Benchmark(
        "contract_forecast_latency",
        ("--variant", "sact-start", "--rate", "100", "--starts-per-post", "1"),
        (
            "--variant",
            "sact-start",
            "--starts-per-post",
            "1",
            "--sact-count",
            "50",
            "--sact-warmup",
            "50",
            "--count",
            "50",
        ),
    ),
    Benchmark("cdf_backtest", (), ("--scale", "0.1")),
    Benchmark("console_pages", ("10000",), ("300",)),
    Benchmark("console_cdf_approvals", ("100000",), ("2000",)),
)


def run(benchmark: Benchmark, quick: bool, figures: Path) -> tuple[int, float]:
    """One run of one benchmark; its output goes to this terminal. Returns its exit code and seconds."""
    arguments = benchmark.quick if quick else benchmark.full
    print(f"\n### {benchmark.name} {' '.join(arguments)}", flush=True)
    started = time.perf_counter()
    env = {**os.environ, FIGURES_ENV: str(figures)}
    command = [sys.executable, "-m", f"bench.{benchmark.name}", *arguments]
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    return code, time.perf_counter() - started


def median_rows(figures: list[Figure], judged: bool) -> list[dict[str, float | str]]:
    """One row per figure name: the median of its runs, met or missed on the median."""
    by_name: dict[str, list[Figure]] = defaultdict(list)
    for f in figures:
        by_name[f.name].append(f)
    rows: list[dict[str, float | str]] = []
    for name, runs in by_name.items():
        first = runs[0]
        median = Figure(
            name,
            statistics.median(f.value for f in runs),
            first.unit,
            first.at_least,
            first.at_most,
            _median_of(f.baseline for f in runs),
            _median_of(f.ratio for f in runs),
        )
        rows.append(
            {
                "figure": name,
                "value": f"{median.value:g} {median.unit}",
                "baseline": "" if median.baseline is None else f"{median.baseline:g}",
                "ratio": "" if median.ratio is None else f"{median.ratio:.2f}",
                "target": median.target,
                "runs": len(runs),
                "verdict": ("met" if median.met else "MISSED") if judged else "(quick: not judged)",
            }
        )
    return rows


def _median_of(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a check that each still runs")
    parser.add_argument("--runs", type=int, default=1, help="runs of each benchmark (the table shows medians)")
    parser.add_argument("--only", help="comma-separated benchmark names")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only.split(",")]
    failed: list[str] = []
    took: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as folder:
        figures = Path(folder) / "figures.jsonl"
        figures.touch()
        started = time.perf_counter()
        for _ in range(args.runs):
            for benchmark in chosen:
                code, seconds = run(benchmark, args.quick, figures)
                took[benchmark.name] += seconds
                if code != 0:
                    failed.append(f"{benchmark.name} (exit {code})")
        recorded = [Figure(**json.loads(line)) for line in figures.read_text().splitlines() if line]
    rows = median_rows(recorded, judged=not args.quick)
    size = "quick sizes" if args.quick else "acceptance sizes"
    print_table(f"make bench: {len(chosen)} benchmarks x {args.runs} run(s), {size}", rows)
    print("\nseconds per benchmark: " + ", ".join(f"{name} {s:.0f}" for name, s in took.items()))
    print(f"all together {time.perf_counter() - started:.0f} s")
    if failed:
        print("FAILED to run: " + ", ".join(failed))
        return 1
    missed = [r["figure"] for r in rows if r["verdict"] == "MISSED"]
    if missed:
        print("missed: " + ", ".join(str(m) for m in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
