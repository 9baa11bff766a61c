"""The CDF forecast backtest's run time: three financial years, every cut-off M1..M11, the full synthetic
national history (`python -m cdf_service.backtest`'s default), against the 60 s target.

Baseline in the same process: the same cut-offs read from the same history (what was known at each
cut-off, the run-rate of every trust x entry) without the model, so the ratio is what forecasting costs
over reading the data. Printed: the history's generation, the backtest in one process (the command's
default) and in --workers processes (default: both cores), wall and CPU seconds, history + backtest as
the command runs them (one process), and the load average (the machine is shared: a busy neighbour
stretches wall time, and CPU time less so).

    .venv/bin/python bench/cdf_backtest.py [--seed 1] [--workers 2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import figure, print_table
from cdf_service.backtest.history import national_history
from cdf_service.backtest.history_records import HistoryPlan
from cdf_service.backtest.known import HistoryIndex, known_at
from cdf_service.backtest.run import (
    CUTOFF_MONTHS,
    _Prices,
    backtest_years,
    cutoff_day,
    run_backtest,
    run_rate_outturns,
    year_cycles,
)

TARGET_S = 60.0


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(step):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = step()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def run_rate_only(history) -> int:  # type: ignore[no-untyped-def]
    """The baseline: every cut-off's known view and run-rate, no forecast."""
    prices, index, pairs = _Prices(history.versions), HistoryIndex(history), 0
    for fy in backtest_years(history, 3):
        spend = year_cycles(history.applications, fy, prices)
        for month in CUTOFF_MONTHS:
            knowledge = known_at(index, cutoff_day(fy, month))
            pairs += len(run_rate_outturns(spend, knowledge, fy))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="approval rates x this (smaller: a quick check)")
    args = parser.parse_args()
    rows = []
    for repeat in range(args.repeats):
        history, gen_wall, _ = timed(lambda: national_history(HistoryPlan(seed=args.seed, scale=args.scale)))
        _, base_wall, _ = timed(lambda h=history: run_rate_only(h))
        single, one_wall, one_cpu = timed(lambda h=history: run_backtest(h, years=3, workers=1))
        shared, many_wall, many_cpu = timed(lambda h=history: run_backtest(h, years=3, workers=args.workers))
        assert shared.months == single.months  # the processes share the work, not the answer
        rows.append(
            {
                "run": repeat + 1,
                "history s": f"{gen_wall:.1f}",
                "run-rate only s (baseline)": f"{base_wall:.1f}",
                "backtest 1 process s": f"{one_wall:.1f} (cpu {one_cpu:.1f})",
                f"backtest {args.workers} processes s": f"{many_wall:.1f} (cpu {many_cpu:.1f})",
                "ratio to baseline": f"{one_wall / base_wall:.1f}x",
                "history + backtest (1 process) s": f"{gen_wall + one_wall:.1f}",
                "target": f"<= {TARGET_S:.0f}",
                "load average": f"{os.getloadavg()[0]:.1f}",
            }
        )
        pairs = len(shared.outcomes)
    print_table(f"CDF forecast backtest: 3 years x 11 cut-offs, {pairs} trust x entry x cut-off outcomes", rows)
    figure(
        "CDF forecast backtest, history + 3 years (1 process)",
        round(gen_wall + one_wall, 1),
        "s",
        baseline=round(base_wall, 1),
        at_most=TARGET_S,
    )


if __name__ == "__main__":
    main()
