"""contract-service's runtime and unit of work typed with its own settings, so `runtime.settings` and
`uow.settings` carry ContractSettings's fields for the type checker, and the route dependencies that give them."""

from typing import Annotated, TypeAlias

from fastapi import Depends

from casework.deps import get_runtime, get_uow
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork
from contract_service.settings import ContractSettings

ContractRuntime: TypeAlias = ServiceRuntime[ContractSettings]
ContractUnitOfWork: TypeAlias = UnitOfWork[ContractSettings]

Runtime = Annotated[ContractRuntime, Depends(get_runtime)]
Uow = Annotated[ContractUnitOfWork, Depends(get_uow)]
