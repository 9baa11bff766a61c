"""Cursor (keyset) pagination for every list: stable under inserts, no OFFSET scans.

The cursor is an opaque base64url token holding the sort key of the last row returned.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from casework.problems import field_problem

T = TypeVar("T")
MAX_PAGE = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, UUID):
        return {"uuid": str(value)}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "d" in value:
        return date.fromisoformat(value["d"])
    if isinstance(value, dict) and "uuid" in value:
        return UUID(value["uuid"])
    return value


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([_plain(v) for v in values]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != width:
            raise ValueError
        return [_typed(v) for v in raw]
    except ValueError:
        raise field_problem("cursor", "not a cursor this list issued") from None


async def paginate(
    session: AsyncSession,
    query: Select[Any],
    keys: Sequence[InstrumentedAttribute[Any] | ColumnElement[Any]],
    cursor: str | None,
    limit: int,
    key_of: Callable[[Any], list[Any]] | None = None,
) -> tuple[list[Any], str | None]:
    """Rows of `query` ordered by `keys` (ascending, unique together) after `cursor`, and the next cursor.
    Keys that are expressions rather than columns (a `coalesce`) need `key_of`: a row's values of them."""
    limit = max(1, min(limit, MAX_PAGE))
    if cursor:
        query = query.where(tuple_(*keys) > tuple_(*decode_cursor(cursor, len(keys))))
    rows = list((await session.scalars(query.order_by(*keys).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return rows, None
    last = key_of(rows[-1]) if key_of is not None else [getattr(rows[-1], str(k.key)) for k in keys]
    return rows, encode_cursor(last)
