"""Optimistic concurrency: resources carry a version exposed as an ETag; changes need If-Match.

The check here gives the caller a clear 428/412; the database then guards the race itself, because
models map their `version` column as SQLAlchemy's `version_id_col` (an UPDATE ... WHERE version = n
that matches nothing raises StaleDataError, turned into 412 by `stale_to_412`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Header, Response
from sqlalchemy.orm.exc import StaleDataError

from casework.problems import PreconditionFailed, PreconditionRequired

# The one way a route declares it: `if_match: IfMatch = None` (documented as the `If-Match` header, and
# the OpenAPI document then lists the 412 and 428 it can answer).
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag of the resource as you read it: without it 428, a stale one 412",
        examples=['W/"3"'],
    ),
]


def etag(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def parse_if_match(if_match: str | None) -> int:
    if not if_match:
        raise PreconditionRequired("this change needs an If-Match header with the resource's ETag")
    token = if_match.strip().removeprefix("W/").strip('"')
    if not token.isdigit():
        raise PreconditionFailed(f"If-Match {if_match!r} is not an ETag this service issued")
    return int(token)


def require_version(if_match: str | None, current: int) -> None:
    expected = parse_if_match(if_match)
    if expected != current:
        raise PreconditionFailed(
            f"the resource changed: you sent version {expected}, it is now at {current}",
            current_version=current,
            etag=etag(current),
        )


@asynccontextmanager
async def stale_to_412() -> AsyncIterator[None]:
    try:
        yield
    except StaleDataError:
        raise PreconditionFailed("the resource was changed by someone else; reload and retry") from None
