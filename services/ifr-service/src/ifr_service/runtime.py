"""ifr-service's runtime and unit of work typed with its own settings, so `runtime.settings` and
`uow.settings` carry IfrSettings's fields for the type checker, and the route dependencies that give them."""

from typing import Annotated, TypeAlias

from fastapi import Depends

from casework.deps import get_runtime, get_uow
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork
from ifr_service.settings import IfrSettings

IfrRuntime: TypeAlias = ServiceRuntime[IfrSettings]
IfrUnitOfWork: TypeAlias = UnitOfWork[IfrSettings]

Runtime = Annotated[IfrRuntime, Depends(get_runtime)]
Uow = Annotated[IfrUnitOfWork, Depends(get_uow)]
