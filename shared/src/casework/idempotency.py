"""`Idempotency-Key` on POSTs that create: a replay returns the first result, never a second record.

The key is scoped to the caller (`sub`). The stored response is written in the same transaction as
the record it describes, so either both exist or neither. The same key with a different body is a
client error (422), as the IETF draft on the header recommends.

Requests with the same key at the same moment: each looks for a stored response, finds none while the
first is in flight, and does its work; its insert of the response record then waits for the first
transaction (PostgreSQL's ON CONFLICT waits for an uncommitted twin) and, once that committed, inserts
nothing. `commit_or_replay` then rolls back and answers with the first request's stored response, so
every twin gets the same answer as a later retry would, never a 409 "retry".

A hot path may fold the lookup into its own first query (`stored` gives the SELECT, `replay` reads
its row) instead of calling `previous`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Select, Table, bindparam, select

from casework.auth import Principal
from casework.db import PlatformTables
from casework.prepared import row_insert, row_params
from casework.problems import Conflict, field_problem
from casework.settings import ServiceSettings
from casework.uow import UnitOfWork

HEADER = "Idempotency-Key"


class StoredResponse(Protocol):
    request_hash: str | None
    path: str | None
    status_code: int | None
    response: Any


@dataclass(frozen=True)
class StoredLookup:
    query: Select[Any]
    params: dict[str, Any]


@functools.cache
def _lookup(table: Table) -> Select[Any]:
    return select(table.c.request_hash, table.c.path, table.c.status_code, table.c.response).where(
        table.c.principal == bindparam("idem_principal"), table.c.key == bindparam("idem_key")
    )


def as_json(body: Any) -> Any:
    """`jsonable_encoder(body)`, straight from pydantic for a model (what the encoder ends up doing
    for one, without walking the result again in Python)."""
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(body)


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(as_json(body), sort_keys=True).encode()).hexdigest()


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

    def stored(self, tables: PlatformTables) -> StoredLookup | None:
        """The lookup of an earlier request's stored response (columns request_hash, path,
        status_code, response), or None when the request carries no key."""
        if self.key is None:
            return None
        return StoredLookup(_lookup(tables.idempotency), {"idem_principal": self.principal.sub, "idem_key": self.key})

    def replay(self, row: StoredResponse | None) -> JSONResponse | None:
        """The stored response again (a row of `stored`, None or all-NULL if there is none); the
        same key with a different request is a 422."""
        if row is None or row.request_hash is None:
            return None
        if row.request_hash != self.hash or row.path != self.path:
            raise field_problem(HEADER, "was already used for a different request")
        assert row.status_code is not None, "a key's record is stored with its response, in one statement"
        return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})

    async def previous(self, uow: UnitOfWork[ServiceSettings]) -> JSONResponse | None:
        """The stored response of an earlier request with this key, if any."""
        lookup = self.stored(uow.tables)
        if lookup is None:
            return None
        return self.replay((await uow.session.execute(lookup.query, lookup.params)).one_or_none())

    async def remember(self, uow: UnitOfWork[ServiceSettings], status_code: int, body: Any) -> None:
        """Store the response with the unit of work's next write (`UnitOfWork.stage`, so in the same
        round trip as its events and audit rows); a concurrent twin loses on the primary key and its
        commit raises `KeyTaken` (commit with `commit_or_replay` to answer with the winner's response)."""
        if self.key is None:
            return
        table = uow.tables.idempotency
        row = {
            "principal": self.principal.sub,
            "key": self.key,
            "method": self.method,
            "path": self.path,
            "request_hash": self.hash,
            "status_code": status_code,
            "response": as_json(body),
        }
        uow.stage(row_insert(table, tuple(row), skip_conflicts=True), row_params(table, row), check=_stored_once)

    async def commit_or_replay(self, uow: UnitOfWork[ServiceSettings]) -> JSONResponse | None:
        """Commit `uow` (with the response `remember` staged). None when this request's record was
        stored; when a concurrent request with the same key committed first, `uow` is rolled back and
        that request's stored response is returned, to be answered instead."""
        try:
            await uow.commit()
        except KeyTaken:
            await uow.rollback()
            if (first := await self.previous(uow)) is not None:
                return first
            raise
        return None


class KeyTaken(Conflict):
    """Another request with the same key stored its response first (see `commit_or_replay`)."""


def _stored_once(inserted: int) -> None:
    if inserted == 0:
        raise KeyTaken("a request with this Idempotency-Key is being processed; retry to get its result")
