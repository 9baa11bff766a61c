"""Every action a case does not offer answers 409 problem+json naming the current state and the
allowed actions, and changes nothing. Parametrised over the whole table: the moves the table does not
have, and those it has but the case's facts rule out (chair's action on a routine case; after a review,
the follow-up its outcome does not allow)."""

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from ifr_http import MEMBERS, REASONS, REVIEW_MEMBERS, Ifr
from sqlalchemy import select

from embedded_stack.testing import RunningService, TestStack
from ifr_service.db.models import CohortAlert, IfrRequest
from ifr_service.domain.case import CASE, RATIFICATION_STATES, Action, CaseState

# A body each action's schema accepts, so only the state can be the reason for refusing it.
VALID_BODY: dict[Action, Any] = {
    Action.SUBMIT: {},
    Action.ACKNOWLEDGE: None,
    Action.SCREEN: None,
    Action.REQUEST_INFORMATION: {"information_needed": "the previous treatment outcomes"},
    Action.PROVIDE_INFORMATION: {"information": "outcomes attached"},
    Action.REDIRECT: {"reason": "cohort"},
    Action.REDIRECT_SERVICE_DEVELOPMENT: {},
    Action.SCREEN_OUT: {"reasons": ["no_prospect_of_exceptionality"]},
    Action.LIST_FOR_PANEL: {"panel_id": "00000000-0000-4000-8000-000000000000"},
    Action.DECIDE: {"outcome": "declined", "reasons": REASONS, "present": ["chair-a"]},
    Action.REQUEST_RECONSIDERATION: {"new_information": "a new scan"},
    Action.REQUEST_REVIEW: {"grounds": "the evidence was not considered"},
    Action.DECIDE_REVIEW: {"outcome": "upheld", "reasons": "the policy was followed", "present": ["chair-r"]},
    Action.CHAIRS_ACTION: {"outcome": "declined", "reasons": REASONS, "urgent_reason": "x", "chair": "chair-a"},
    Action.RATIFY: {"present": ["chair-a"]},
    Action.OVERTURN: {"outcome": "declined", "reasons": REASONS, "present": ["chair-a"]},
    Action.WITHDRAW: {"reason": "the patient moved away"},
    Action.CLOSE: {},
}
EVERYONE = [m["member_id"] for m in MEMBERS]
REVIEWERS = [m["member_id"] for m in REVIEW_MEMBERS]


class CasesByState:
    """Builds (once) a case in each state of the table, over HTTP."""

    def __init__(self, ifr: Ifr, svc: RunningService) -> None:
        self.ifr = ifr
        self.svc = svc
        self.cases: dict[CaseState, dict] = {}

    async def get(self, state: CaseState) -> dict:
        if state not in self.cases:
            self.cases[state] = await self._make(state)
        return self.cases[state]

    async def _make(self, state: CaseState) -> dict:
        ifr, S = self.ifr, CaseState
        act = ifr.act
        if state == S.DRAFT:
            return await ifr.draft()
        if state == S.WITHDRAWN:
            return await act(await ifr.draft(), "withdraw", VALID_BODY[Action.WITHDRAW])
        if state == S.RECEIVED:
            return await ifr.submitted()
        if state == S.ACKNOWLEDGED:
            return await act(await ifr.submitted(), "acknowledge")
        if state == S.SCREENING:
            return await ifr.screening()
        if state == S.RETURNED_FOR_INFORMATION:
            return await act(await ifr.screening(), "request-information", VALID_BODY[Action.REQUEST_INFORMATION])
        if state == S.RESUBMITTED:
            returned = await act(await ifr.screening(), "request-information", VALID_BODY[Action.REQUEST_INFORMATION])
            return await act(returned, "provide-information", VALID_BODY[Action.PROVIDE_INFORMATION])
        if state == S.SERVICE_DEVELOPMENT:  # one of a cohort: a database of its own with one cohort in it
            return await self._one_of_a_cohort()
        if state == S.REDIRECTED:
            return await act(await ifr.screening(), "redirect", VALID_BODY[Action.REDIRECT])
        if state == S.SCREENED_OUT:
            return await act(await ifr.screening(), "screen-out", VALID_BODY[Action.SCREEN_OUT])
        if state == S.LISTED_FOR_PANEL:
            return (await ifr.listed())[0]
        if state == S.DECIDED:
            return (await ifr.decided())[0]
        if state == S.CLOSED:
            return await act((await ifr.decided())[0], "close", {})
        if state == S.AWAITING_RATIFICATION:
            return (await ifr.by_chairs_action())[0]
        if state == S.LISTED_FOR_RATIFICATION:
            awaiting = (await ifr.by_chairs_action())[0]
            return await act(awaiting, "list-for-panel", {"panel_id": (await ifr.panel())["id"]})
        if state == S.RECONSIDERATION:
            return await act((await ifr.decided())[0], "request-reconsideration", {"new_information": "new scan"})
        review = await act((await ifr.decided())[0], "request-review", VALID_BODY[Action.REQUEST_REVIEW])
        if state == S.REVIEW:
            return review
        listed = await act(review, "list-for-panel", {"panel_id": (await ifr.panel("review"))["id"]})
        if state == S.LISTED_FOR_REVIEW:
            return listed
        assert state == S.REVIEW_DECIDED
        return await act(listed, "decide-review", {"outcome": "flawed", "reasons": "x", "present": REVIEWERS})

    async def _one_of_a_cohort(self) -> dict:
        """An acknowledged case that an open cohort alert matches (made in the database: this module's
        trusts are in no region, so that no alert the trigger raises can match its other cases)."""
        case = await self.ifr.act(await self.ifr.submitted(), "acknowledge")
        async with self.svc.runtime.sessions() as session, session.begin():
            row = await session.get_one(IfrRequest, uuid.UUID(case["id"]))
            row.region = "Y56"
            already = await session.scalar(
                select(CohortAlert.id).where(
                    CohortAlert.treatment_key == row.treatment_key,
                    CohortAlert.region == "Y56",
                    CohortAlert.open_until > date.today(),
                )
            )
            if already is None:  # other tests' requests in this database may have raised one
                session.add(
                    CohortAlert(
                        reference=f"COHORT-T-{uuid.uuid4().hex[:6]}",
                        treatment_key=row.treatment_key,
                        region="Y56",
                        treatment_name="Examplimab",
                        treatment_code="3762811000001103",
                        min_requests=6,
                        window_months=12,
                        window_start=date(2001, 1, 1),
                        detected_on=date.today(),
                        open_until=date.today() + timedelta(days=365),
                        request_count=6,
                    )
                )
        case = (await self.ifr.get(case)).json()
        return await self.ifr.act(case, "redirect-service-development")


@pytest.fixture(scope="module")
async def cases(stack: TestStack) -> AsyncIterator[CasesByState]:
    # trusts in no region: no cohort alert can match these cases, whatever other tests submitted
    async with stack.service("ifr", run_workers=False, trust_regions={}) as svc:
        yield CasesByState(Ifr(svc.client, stack), svc)


def offered(state: CaseState) -> set[Action]:
    """What the case `CasesByState` builds in this state may do next, worked out here from the table:
    only the ratification states' cases are urgent (chair's action is for urgent cases only), and the
    review_decided case's review found the process flawed (it goes back to a panel, it is not closed), and
    no cohort alert matches any of them (redirect-service-development is for one of a cohort)."""
    actions = {a for a in Action if CASE.can(state, a)} - {Action.REDIRECT_SERVICE_DEVELOPMENT}
    if state not in RATIFICATION_STATES:
        actions.discard(Action.CHAIRS_ACTION)
    if state == CaseState.REVIEW_DECIDED:
        actions.discard(Action.CLOSE)
    return actions


ILLEGAL = [(s, a) for s in CaseState for a in Action if a not in offered(s)]


def test_the_table_has_illegal_moves_from_every_state() -> None:
    assert {s for s, _ in ILLEGAL} == set(CaseState)
    # beyond the table: chair's action where a routine case's panel would decide, closing a flawed review,
    # redirecting as a service development a request no cohort alert matches
    ruled_out = {(s, a) for s, a in ILLEGAL if CASE.can(s, a)}
    assert ruled_out == {
        (CaseState.ACKNOWLEDGED, Action.REDIRECT_SERVICE_DEVELOPMENT),
        (CaseState.SCREENING, Action.REDIRECT_SERVICE_DEVELOPMENT),
        (CaseState.RESUBMITTED, Action.REDIRECT_SERVICE_DEVELOPMENT),
        (CaseState.SCREENING, Action.CHAIRS_ACTION),
        (CaseState.RESUBMITTED, Action.CHAIRS_ACTION),
        (CaseState.LISTED_FOR_PANEL, Action.CHAIRS_ACTION),
        (CaseState.RECONSIDERATION, Action.CHAIRS_ACTION),
        (CaseState.REVIEW_DECIDED, Action.CLOSE),
    }


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=[f"{s.value}-{a.value}" for s, a in ILLEGAL])
async def test_illegal_action_is_409_with_state_and_allowed_actions(
    cases: CasesByState, state: CaseState, action: Action
) -> None:
    case = await cases.get(state)
    assert case["state"] == state
    response = await cases.ifr.client.post(
        f"/api/v1/ifr/requests/{case['id']}/{action.value}",
        json=VALID_BODY[action],
        headers={**cases.ifr.officer, "If-Match": f'W/"{case["version"]}"'},
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["current_state"] == state.value
    assert problem["action"] == action.value
    assert problem["allowed_actions"] == case["allowed_actions"]
    assert set(problem["allowed_actions"]) == {a.value for a in offered(state)}
    assert case["urgent"] is (state in RATIFICATION_STATES)
    after = (await cases.ifr.get(case)).json()
    assert (after["state"], after["version"]) == (state.value, case["version"])


async def test_after_a_review_the_outcome_decides_what_is_allowed(cases: CasesByState) -> None:
    ifr = cases.ifr
    flawed = await cases.get(CaseState.REVIEW_DECIDED)
    assert flawed["allowed_actions"] == ["list-for-panel"]
    refused = await ifr.act(flawed, "close", {}, expect=409)
    assert refused["current_state"] == "review_decided" and refused["review_outcome"] == "flawed"
    assert refused["allowed_actions"] == ["list-for-panel"] and "flawed" in refused["detail"]
    review = await ifr.act((await ifr.decided())[0], "request-review", VALID_BODY[Action.REQUEST_REVIEW])
    listed = await ifr.act(review, "list-for-panel", {"panel_id": (await ifr.panel("review"))["id"]})
    upheld = await ifr.act(listed, "decide-review", {"outcome": "upheld", "reasons": "sound", "present": REVIEWERS})
    panel = await ifr.panel()
    assert upheld["allowed_actions"] == ["close"]
    refused = await ifr.act(upheld, "list-for-panel", {"panel_id": panel["id"]}, expect=409)
    assert (refused["review_outcome"], refused["allowed_actions"]) == ("upheld", ["close"])
    # listing on an agenda is the same move, refused the same way, and lists nothing
    agenda = await ifr.client.post(
        f"/api/v1/ifr/panels/{panel['id']}/agenda",
        json={"cases": [{"request_id": upheld["id"], "version": upheld["version"]}]},
        headers=ifr.officer,
    )
    assert agenda.status_code == 409 and agenda.json()["allowed_actions"] == ["close"]
    assert (await ifr.get(upheld)).json()["version"] == upheld["version"]
    assert (await ifr.act(upheld, "close", {}))["state"] == "closed"
    # the flawed one goes back to an IFR panel and is decided again
    again = await ifr.act(flawed, "list-for-panel", {"panel_id": panel["id"]})
    redecided = await ifr.act(again, "decide", {"outcome": "approved", "reasons": REASONS, "present": EVERYONE})
    assert redecided["state"] == "decided"
    cases.cases.pop(CaseState.REVIEW_DECIDED)  # that case has moved on
