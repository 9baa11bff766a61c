"""A seeded synthetic national CDF history for backtesting the spend forecast (not the demo generator).

`cdf_service.synthetic` makes a believable month of SACT files for demos and load tests. This module
makes years of national activity for one purpose: measuring the forecast against what happened. Its
processes are chosen to be unlike what the forecaster assumes, and the forecaster never reads them:
the backtest sees only what a national database would hold (dated list versions, approvals,
withdrawals, SACT cycles and stops, each with the day it became known). Same plan, same history.

The processes (the constants of backtest.history_entries and backtest.history_approvals; the service
README has the same table):
- Trusts: sizes log-normal (sigma 0.7); a fifth join the CDF late, on a day between the history's
  second April and its last January.
- Entries: `HistoryPlan.entries` drug + indication entries made from the seed list's drugs, prices,
  cycle lengths and expected cycles (a drug used twice has a second indication). They open at a
  steady pace, on days drawn from four years before the history to six months before its end, so
  about a dozen are open at any time. Managed access ends 24-60 months after opening; a quarter are
  extended by 6-12 months (announced 20-75 days before the end), a tenth close early (a decision
  announced 0-45 days ahead). Patients on treatment carry on after a closure.
- Prices: 0.35 changes a year per entry, two thirds rises of 1-6%, a third cuts of 8-35%, on the 1st
  of a month (70%) or any day, published 0-45 days before they take effect.
- Approvals: a national rate per entry (log-normal, median 12 a month, sigma 0.8) x the trust's share
  x a trust x entry affinity (log-normal, sigma 0.5), moved by the entry's own trend (sigma 15% a
  year), a monthly random walk (sigma 5%), sudden steps (0.25 a year, sigma 0.35 on the log scale)
  and an uptake ramp after opening (1 - exp(-months / 2-9)); gamma(10) overdispersion per trust,
  entry and month; weekends at 15%, August at 80%, 22 December-2 January at 30%.
- Starts: planned start 0-60 days after approval (gamma, mean 10 days); 80-97% of an entry's
  approvals start, from 6 days early to 18 days late; the rest are withdrawn (45%, 3-35 days after
  approval) or lapse.
- Time on treatment, per entry a mixture: 4-18% stop for toxicity after 1-3 cycles; the rest last a
  Weibull (shape 0.8-1.8) or log-normal (sigma 0.45-1.0) time with median 0.55-1.6 x the list's
  expected duration; 55% of entries cap the course at 1.5-3 x the expected cycles.
- Cycles: every cycle length, delayed a week (16%) or two (6%).
- SACT: one cycle a row and no cycle length (as v3.0, before v4.0's items 82 and 83); a trust submits
  month m on its usual day (3rd-17th, +-3 days) of month m+1; a month comes a month late with the
  trust's own probability (70% of trusts 4%, 30% of trusts 20%); 6% of months are partial (40-90% of
  the rows; the rest come with the next month's submission). A stop is recorded 0-21 days after the
  next cycle was due and submitted with that month's data.
"""

from __future__ import annotations

import random

from cdf_service.backtest.history_approvals import SubmissionSchedule, draw_applications, draw_trusts
from cdf_service.backtest.history_entries import entry_process, entry_templates
from cdf_service.backtest.history_records import HistoryPlan, NationalHistory, add_months, months_of


def national_history(plan: HistoryPlan = HistoryPlan()) -> NationalHistory:
    """The history for `plan`: the same plan (and seed) always gives the same records."""
    rng = random.Random(plan.seed)
    months = months_of(plan.start, plan.end)
    trusts = draw_trusts(rng, plan)
    processes, versions = [], []
    for seed in entry_templates(plan.entries):
        process, published = entry_process(rng, plan, seed, months)
        processes.append(process)
        versions.extend(published)
    schedule = SubmissionSchedule(rng, trusts, months_of(plan.start, add_months(plan.end, 3)))
    applications = draw_applications(rng, plan, trusts, processes, months, schedule)
    return NationalHistory(
        plan=plan,
        trusts=tuple(t.ods for t in trusts),
        versions=tuple(versions),
        applications=tuple(applications),
        submissions=schedule.first_submissions(),
    )
