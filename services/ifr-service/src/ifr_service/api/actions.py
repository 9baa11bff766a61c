"""`POST /ifr/requests/{id}/{action}`: every state change of a case, one route per action.

Each route checks, in order: the caller's role for the action (403), the case in their view (404),
`If-Match` (428/412), the transition table (409 naming the state and the allowed actions); then the
action's own rules (422) and the change with its events and letter copy, in one transaction.
"""

# No `from __future__ import annotations`: the routes are built in a loop and FastAPI must see each
# route's body model as a class, not as a string.

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from pydantic import BaseModel

from casework.auth import Principal, require_roles
from casework.clock import today
from casework.concurrency import IfMatch, require_version, stale_to_412
from ifr_service.api.requests import respond
from ifr_service.api.schemas import CaseOut
from ifr_service.domain.case import Action
from ifr_service.runtime import Runtime, Uow
from ifr_service.use_cases.action_base import ActionContext
from ifr_service.use_cases.case_actions import ACTIONS, CHAIR_ACTIONS, PROVIDER_ACTIONS, ActionSpec, roles_for
from ifr_service.use_cases.cohorts import open_alert_for
from ifr_service.use_cases.workflow import ensure_allowed, get_case

router = APIRouter(prefix="/ifr/requests", tags=["actions"])


async def _run(
    spec: ActionSpec,
    request_id: uuid.UUID,
    body: BaseModel,
    response: Response,
    uow: Any,
    runtime: Any,
    if_match: str | None,
    principal: Principal,
) -> CaseOut:
    case = await get_case(uow, request_id, principal)
    require_version(if_match, case.version)
    ensure_allowed(case, spec.action, in_cohort=await open_alert_for(uow, case, today()) is not None)
    context = ActionContext(uow, runtime.settings, principal, today())
    async with stale_to_412():
        # one UPDATE of the case per action, so its version (ETag) moves by exactly one
        with uow.session.no_autoflush:
            await spec.handler(context, case, body)
        await uow.session.flush()
        out = await respond(uow, case, response, principal)
        await uow.commit()
    return out


def _route(spec: ActionSpec) -> None:
    model = spec.body
    Caller = Annotated[Principal, Depends(require_roles(*roles_for(spec.action)))]

    if spec.body_required:

        async def endpoint(
            request_id: uuid.UUID,
            body: model,  # type: ignore[valid-type]  # the action's body model, a value: FastAPI reads it at run time
            response: Response,
            uow: Uow,
            runtime: Runtime,
            principal: Caller,
            if_match: IfMatch = None,
        ) -> CaseOut:
            return await _run(spec, request_id, body, response, uow, runtime, if_match, principal)

    else:

        async def endpoint(  # type: ignore[misc]  # the other branch's, with an optional body: one name, two signatures
            request_id: uuid.UUID,
            response: Response,
            uow: Uow,
            runtime: Runtime,
            principal: Caller,
            body: Annotated[model | None, Body()] = None,  # type: ignore[valid-type]  # as above
            if_match: IfMatch = None,
        ) -> CaseOut:
            return await _run(spec, request_id, body or model(), response, uow, runtime, if_match, principal)

    who = "the requesting trust or a case officer" if spec.action in PROVIDER_ACTIONS else "a case officer"
    if spec.action in CHAIR_ACTIONS:
        who = "the panel's chair or deputy chair, or a case officer for them"
    router.add_api_route(
        f"/{{request_id}}/{spec.action.value}",
        endpoint,
        methods=["POST"],
        response_model=CaseOut,
        summary=f"{spec.action.value}: {spec.summary}",
        description=f"{spec.summary}. By {who}; needs If-Match.",
        name=f"ifr_{spec.action.value.replace('-', '_')}",
    )


for _action in Action:
    _route(ACTIONS[_action])
