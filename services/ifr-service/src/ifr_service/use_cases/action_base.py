"""What every case action shares: its context, the body base class and the plain transition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from casework.auth import Principal
from ifr_service.db.models import CaseClock, IfrRequest
from ifr_service.domain.case import Action
from ifr_service.domain.clocks import plan_for
from ifr_service.runtime import IfrUnitOfWork
from ifr_service.settings import IfrSettings
from ifr_service.use_cases.workflow import transition

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


@dataclass
class ActionContext:
    uow: IfrUnitOfWork
    settings: IfrSettings
    principal: Principal
    today: date


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})


async def simple_transition(
    ctx: ActionContext, case: IfrRequest, action: Action, *, detail: dict[str, Any] | None = None
) -> list[CaseClock]:
    """The action's move with the clock plan the domain gives for it from the case's state."""
    plan = plan_for(action, case.state, case.review_outcome)
    return await transition(
        ctx.uow, case, action, principal=ctx.principal, settings=ctx.settings, plan=plan, detail=detail
    )
