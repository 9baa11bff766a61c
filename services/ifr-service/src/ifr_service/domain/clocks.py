"""Stage clocks in working days (England bank holidays excluded), paused while waiting for information.

A clock starts on a date with a number of working days; its due date is `start + days + paused days`
on the working-day calendar. Pausing records the day the case was returned for information; resuming
adds the working days after that day up to and including the day the information came back, so the due
date moves by exactly the time the team was waiting. Pure functions over plain objects: the database
rows and the unit tests' dataclasses both satisfy `ClockLike`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

from casework.working_days import add_working_days, working_days_between
from ifr_service.domain.case import RATIFICATION_STATES, Action, CaseState, ReviewOutcome


class Clock(StrEnum):
    ACKNOWLEDGE = "acknowledge"  # acknowledge receipt
    TRIAGE = "triage"  # completeness check / triage
    SCREENING_OUTCOME = "screening_outcome"  # from complete application
    PANEL_DECISION = "panel_decision"  # from complete application
    DECISION_LETTER = "decision_letter"  # after the panel met
    REVIEW_WINDOW = "review_window"  # the clinician's window to ask for a review after the letter
    REVIEW_DECISION = "review_decision"  # from the review request
    RATIFICATION = "ratification"  # a chair's action, until the next quorate panel ratifies or overturns it


# The clinician's window is not the team's deadline: the sweep does not warn about it.
TEAM_CLOCKS = frozenset(Clock) - {Clock.REVIEW_WINDOW}


@dataclass(frozen=True)
class ClockDays:
    routine: int
    urgent: int

    def for_case(self, urgent: bool) -> int:
        return self.urgent if urgent else self.routine


# DOMAIN.md defaults (working days; "same day" is 0).
DEFAULT_DAYS: Mapping[Clock, ClockDays] = {
    Clock.ACKNOWLEDGE: ClockDays(2, 0),
    Clock.TRIAGE: ClockDays(5, 1),
    Clock.SCREENING_OUTCOME: ClockDays(10, 2),
    Clock.PANEL_DECISION: ClockDays(20, 5),
    Clock.DECISION_LETTER: ClockDays(5, 1),
    Clock.REVIEW_WINDOW: ClockDays(30, 10),
    Clock.REVIEW_DECISION: ClockDays(20, 5),
    # only urgent cases are decided by chair's action; one length serves both (panels meet about monthly)
    Clock.RATIFICATION: ClockDays(20, 20),
}


class ClockStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"
    CANCELLED = "cancelled"


class ClockLike(Protocol):
    clock: str
    started_on: date
    days: int
    paused_days: int
    paused_since: date | None
    stopped_on: date | None
    cancelled: bool
    due_date: date


@dataclass
class ClockSpan:
    """A clock as plain data (what the database row holds)."""

    clock: str
    started_on: date
    days: int
    paused_days: int = 0
    paused_since: date | None = None
    stopped_on: date | None = None
    cancelled: bool = False
    due_date: date = field(init=False)

    def __post_init__(self) -> None:
        self.due_date = due_date(self.started_on, self.days, self.paused_days)


def due_date(started_on: date, days: int, paused_days: int = 0) -> date:
    return add_working_days(started_on, days + paused_days)


def is_open(c: ClockLike) -> bool:
    return c.stopped_on is None and not c.cancelled


def status(c: ClockLike) -> ClockStatus:
    if c.cancelled:
        return ClockStatus.CANCELLED
    if c.stopped_on is not None:
        return ClockStatus.MET if c.stopped_on <= c.due_date else ClockStatus.MISSED
    return ClockStatus.PAUSED if c.paused_since is not None else ClockStatus.RUNNING


def projected_due(c: ClockLike, today: date) -> date:
    """The due date shown while paused: as if the information arrived today."""
    if c.paused_since is None or not is_open(c):
        return c.due_date
    return due_date(c.started_on, c.days, c.paused_days + working_days_between(c.paused_since, today))


def pause(c: ClockLike, on: date) -> None:
    if is_open(c) and c.paused_since is None:
        c.paused_since = on


def resume(c: ClockLike, on: date) -> None:
    if is_open(c) and c.paused_since is not None:
        c.paused_days += working_days_between(c.paused_since, on)
        c.paused_since = None
        c.due_date = due_date(c.started_on, c.days, c.paused_days)


def stop(c: ClockLike, on: date) -> None:
    """The stage's work is done on `on` (met when on or before the due date)."""
    if is_open(c):
        resume(c, on)
        c.stopped_on = on


def cancel(c: ClockLike) -> None:
    """The stage will never be reached (withdrawn, screened out ...): no timeliness is counted."""
    if is_open(c):
        c.cancelled = True


class Alert(StrEnum):
    APPROACHING = "deadline_approaching"
    BREACHED = "deadline_breached"


def alert_due(c: ClockLike, today: date, warning_days: int) -> Alert | None:
    """The alert a sweep on `today` should raise for this clock (if not already raised)."""
    if c.clock not in TEAM_CLOCKS or not is_open(c) or c.paused_since is not None:
        return None
    if today > c.due_date:
        return Alert.BREACHED
    if working_days_between(today, c.due_date) <= warning_days:
        return Alert.APPROACHING
    return None


class Timeliness(StrEnum):
    """How a clock stands, as a worklist or case page shows it."""

    ON_TIME = "on_time"
    DUE_SOON = "due_soon"  # within the warning days: the sweep has warned (or is about to)
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"
    CANCELLED = "cancelled"


def timeliness(c: ClockLike, today: date, warning_days: int) -> Timeliness:
    """On time, due soon, overdue or paused while it runs; met, missed or cancelled once it stopped.
    The same rule as the sweep's alerts, so the page and the mail never disagree."""
    state = status(c)
    if state is not ClockStatus.RUNNING:
        return Timeliness(state.value)
    due = projected_due(c, today)
    if today > due:
        return Timeliness.OVERDUE
    if working_days_between(today, due) <= warning_days:
        return Timeliness.DUE_SOON
    return Timeliness.ON_TIME


def next_due(clocks: Iterable[ClockLike]) -> date | None:
    """The nearest due date among the team's running clocks (what a worklist sorts and filters by)."""
    dates = [c.due_date for c in clocks if c.clock in TEAM_CLOCKS and is_open(c) and c.paused_since is None]
    return min(dates, default=None)


@dataclass(frozen=True)
class ClockPlan:
    """What one action does to the case's clocks."""

    stop: tuple[Clock, ...] = ()
    start: tuple[Clock, ...] = ()
    pause: bool = False
    resume: bool = False
    cancel_rest: bool = False  # the case leaves the process: every other open clock is cancelled
    cancel: tuple[Clock, ...] = ()


_C = Clock
_PLANS: Mapping[str, ClockPlan] = {
    Action.SUBMIT: ClockPlan(start=(_C.ACKNOWLEDGE, _C.TRIAGE, _C.SCREENING_OUTCOME, _C.PANEL_DECISION)),
    Action.ACKNOWLEDGE: ClockPlan(stop=(_C.ACKNOWLEDGE,)),
    Action.SCREEN: ClockPlan(stop=(_C.TRIAGE,)),
    Action.REQUEST_INFORMATION: ClockPlan(stop=(_C.TRIAGE,), pause=True),
    Action.PROVIDE_INFORMATION: ClockPlan(resume=True),
    Action.REDIRECT: ClockPlan(stop=(_C.TRIAGE, _C.SCREENING_OUTCOME), cancel_rest=True),
    Action.REDIRECT_SERVICE_DEVELOPMENT: ClockPlan(stop=(_C.TRIAGE, _C.SCREENING_OUTCOME), cancel_rest=True),
    Action.SCREEN_OUT: ClockPlan(stop=(_C.TRIAGE, _C.SCREENING_OUTCOME), cancel_rest=True),
    Action.LIST_FOR_PANEL: ClockPlan(stop=(_C.TRIAGE, _C.SCREENING_OUTCOME), start=(_C.DECISION_LETTER,)),
    Action.DECIDE: ClockPlan(stop=(_C.PANEL_DECISION, _C.DECISION_LETTER), start=(_C.REVIEW_WINDOW,)),
    Action.REQUEST_RECONSIDERATION: ClockPlan(cancel=(_C.REVIEW_WINDOW,), start=(_C.PANEL_DECISION,)),
    Action.REQUEST_REVIEW: ClockPlan(stop=(_C.REVIEW_WINDOW,), start=(_C.REVIEW_DECISION,)),
    Action.DECIDE_REVIEW: ClockPlan(stop=(_C.REVIEW_DECISION,)),
    # the chair decided: screening and the panel decision are done; the listed meeting's letter clock
    # will not run (the letter goes with this decision); the ratification clock starts
    Action.CHAIRS_ACTION: ClockPlan(
        stop=(_C.TRIAGE, _C.SCREENING_OUTCOME, _C.PANEL_DECISION),
        cancel=(_C.DECISION_LETTER,),
        start=(_C.RATIFICATION,),
    ),
    # the clinician's review window runs from the decision that stands after ratification
    Action.RATIFY: ClockPlan(stop=(_C.RATIFICATION,), start=(_C.REVIEW_WINDOW,)),
    Action.OVERTURN: ClockPlan(stop=(_C.RATIFICATION,), start=(_C.REVIEW_WINDOW,)),
    Action.WITHDRAW: ClockPlan(cancel_rest=True),
    Action.CLOSE: ClockPlan(cancel_rest=True),
}


def plan_for(action: str, from_state: str | None = None, review_outcome: str | None = None) -> ClockPlan:
    plan = _PLANS.get(action, ClockPlan())
    if action == Action.LIST_FOR_PANEL and from_state in RATIFICATION_STATES:
        return ClockPlan()  # the decision and its letter are out: only the ratification clock runs
    if action == Action.PROVIDE_INFORMATION and from_state in (CaseState.SCREENED_OUT, CaseState.SERVICE_DEVELOPMENT):
        # new information reopens a screened-out request (or one redirected as part of a cohort):
        # screening starts again from today
        return ClockPlan(start=(_C.SCREENING_OUTCOME, _C.PANEL_DECISION))
    if action == Action.DECIDE_REVIEW and review_outcome == ReviewOutcome.FLAWED:
        # back to an IFR panel: a fresh panel-decision clock from the review decision
        return ClockPlan(stop=plan.stop, start=(_C.PANEL_DECISION,))
    return plan


def apply_plan(
    plan: ClockPlan,
    clocks: Iterable[ClockLike],
    on: date,
) -> None:
    """Stop, pause, resume and cancel the case's open clocks for an action taken on `on`.

    Starting clocks is the caller's part (it creates rows): see `new_clocks`.
    """
    for c in clocks:
        if not is_open(c):
            continue
        if c.clock in plan.stop:
            stop(c, on)
        elif c.clock in plan.cancel or plan.cancel_rest:
            cancel(c)
        elif plan.pause:
            pause(c, on)
        elif plan.resume:
            resume(c, on)


def new_clocks(
    plan: ClockPlan,
    days: Mapping[Clock, ClockDays],
    urgent: bool,
    on: date,
    starts: Mapping[Clock, date] | None = None,
) -> list[ClockSpan]:
    """The clocks an action starts; `starts` overrides a start date (the decision letter runs from
    the panel's meeting date, not from the day the case was listed)."""
    starts = starts or {}
    return [ClockSpan(clock, starts.get(clock, on), days[clock].for_case(urgent)) for clock in plan.start]
