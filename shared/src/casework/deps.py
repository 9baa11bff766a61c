"""FastAPI dependencies: the runtime, a unit of work per request, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from casework.auth import Principal, current_principal
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork


async def get_runtime(request: Request) -> ServiceRuntime:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hand-off on every request
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def get_uow(runtime: ServiceRuntime = Depends(get_runtime)) -> AsyncIterator[UnitOfWork]:
    async with runtime.unit_of_work() as uow:
        yield uow


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
Uow = Annotated[UnitOfWork, Depends(get_uow)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
