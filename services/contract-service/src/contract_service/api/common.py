"""What every creating endpoint of this service does last."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from casework.concurrency import set_etag
from casework.idempotency import IdempotentRequest
from contract_service.runtime import ContractUnitOfWork

Out = TypeVar("Out", bound=BaseModel)


async def created(
    uow: ContractUnitOfWork, idempotent: IdempotentRequest, response: Response, out: Out, version: int
) -> Out | JSONResponse:
    """Remember the response under the Idempotency-Key, commit with it, and give the ETag (or the
    response of a concurrent request with the same key that committed first)."""
    await idempotent.remember(uow, 201, out.model_dump(mode="json"))
    if (first := await idempotent.commit_or_replay(uow)) is not None:
        return first
    set_etag(response, version)
    return out
