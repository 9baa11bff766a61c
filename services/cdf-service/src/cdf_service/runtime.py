"""cdf-service's runtime and unit of work typed with its own settings, so `runtime.settings` and
`uow.settings` carry CdfSettings's fields for the type checker, and the route dependencies that give them."""

from typing import Annotated, TypeAlias

from fastapi import Depends

from casework.deps import get_runtime, get_uow
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork
from cdf_service.settings import CdfSettings

CdfRuntime: TypeAlias = ServiceRuntime[CdfSettings]
CdfUnitOfWork: TypeAlias = UnitOfWork[CdfSettings]

Runtime = Annotated[CdfRuntime, Depends(get_runtime)]
Uow = Annotated[CdfUnitOfWork, Depends(get_uow)]
