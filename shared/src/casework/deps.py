"""FastAPI dependencies: the runtime, a unit of work per request, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request

from casework.auth import Principal, current_principal
from casework.runtime import ServiceRuntime
from casework.settings import ServiceSettings
from casework.uow import UnitOfWork


async def get_runtime(request: Request) -> ServiceRuntime[Any]:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hand-off on every request.
    # Any: the app holds one service's runtime; each service's own aliases (e.g. cdf_service.runtime)
    # name its settings class.
    runtime: ServiceRuntime[Any] = request.app.state.runtime
    return runtime


async def get_uow(runtime: ServiceRuntime[Any] = Depends(get_runtime)) -> AsyncIterator[UnitOfWork[Any]]:
    async with runtime.unit_of_work() as uow:
        yield uow


# for routes every service has (casework's own): the settings every service has
Runtime = Annotated[ServiceRuntime[ServiceSettings], Depends(get_runtime)]
Uow = Annotated[UnitOfWork[ServiceSettings], Depends(get_uow)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
