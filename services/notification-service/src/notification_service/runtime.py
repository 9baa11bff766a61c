"""notification-service's runtime and unit of work typed with its own settings, so `runtime.settings` and
`uow.settings` carry NotificationSettings's fields for the type checker, and the route dependencies that give them."""

from typing import Annotated, TypeAlias

from fastapi import Depends

from casework.deps import get_runtime, get_uow
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork
from notification_service.settings import NotificationSettings

NotificationRuntime: TypeAlias = ServiceRuntime[NotificationSettings]
NotificationUnitOfWork: TypeAlias = UnitOfWork[NotificationSettings]

Runtime = Annotated[NotificationRuntime, Depends(get_runtime)]
Uow = Annotated[NotificationUnitOfWork, Depends(get_uow)]
