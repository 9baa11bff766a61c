"""`Idempotency-Key` on POSTs that create: a replay returns the first result, never a second record.

The key is scoped to the caller (`sub`). The stored response is written in the same transaction as
the record it describes, so either both exist or neither. The same key with a different body is a
client error (422), as the IETF draft on the header recommends.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.auth import Principal
from casework.problems import Conflict, field_problem
from casework.uow import UnitOfWork

HEADER = "Idempotency-Key"


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(jsonable_encoder(body), sort_keys=True).encode()).hexdigest()


class IdempotentRequest:
    def __init__(self, request: Request, principal: Principal, body: Any) -> None:
        key = request.headers.get(HEADER)
        if key is not None and not 1 <= len(key) <= 200:
            raise field_problem(HEADER, "must be 1 to 200 characters")
        self.key = key
        self.principal = principal
        self.method = request.method
        self.path = request.url.path
        self.hash = fingerprint(body)

    async def previous(self, uow: UnitOfWork) -> JSONResponse | None:
        """The stored response of an earlier request with this key, if any."""
        if self.key is None:
            return None
        table = uow.tables.idempotency
        row = (
            await uow.session.execute(
                select(table).where(table.c.principal == self.principal.sub, table.c.key == self.key)
            )
        ).one_or_none()
        if row is None:
            return None
        if row.request_hash != self.hash or row.path != self.path:
            raise field_problem(HEADER, "was already used for a different request")
        return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})

    async def remember(self, uow: UnitOfWork, status_code: int, body: Any) -> None:
        """Store the response in the current transaction; a concurrent twin loses on the primary key."""
        if self.key is None:
            return
        table = uow.tables.idempotency
        inserted = await uow.session.scalar(
            pg_insert(table)
            .values(
                principal=self.principal.sub,
                key=self.key,
                method=self.method,
                path=self.path,
                request_hash=self.hash,
                status_code=status_code,
                response=jsonable_encoder(body),
            )
            .on_conflict_do_nothing()
            .returning(table.c.key)
        )
        if inserted is None:
            raise Conflict("a request with this Idempotency-Key is being processed; retry to get its result")
