"""What every creating endpoint of this service does last."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Response
from pydantic import BaseModel

from casework.concurrency import set_etag
from casework.idempotency import IdempotentRequest
from casework.uow import UnitOfWork

Out = TypeVar("Out", bound=BaseModel)


async def created(uow: UnitOfWork, idempotent: IdempotentRequest, response: Response, out: Out, version: int) -> Out:
    """Remember the response under the Idempotency-Key, commit with it, and give the ETag."""
    await idempotent.remember(uow, 201, out.model_dump(mode="json"))
    await uow.commit()
    set_etag(response, version)
    return out
