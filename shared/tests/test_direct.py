"""casework.direct against the real PostgreSQL: a statement compiled once runs on the driver connection
inside the session's transaction, with the values and rows SQLAlchemy would give."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, Numeric, String, Table, bindparam, event, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB, UUID, asyncpg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from casework.db import create_engine, session_factory
from casework.direct import DirectStatement, fetch
from casework.migrations import ensure_database
from embedded_stack.testing import TestStack

metadata = MetaData()
things = Table(
    "direct_things",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(40), nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("detail", JSONB, nullable=False),
)

INSERT = DirectStatement(
    pg_insert(things)
    .values(
        id=bindparam("id", type_=things.c.id.type),
        name=bindparam("name", type_=things.c.name.type),
        amount=bindparam("amount", type_=things.c.amount.type),
        detail=bindparam("detail", type_=things.c.detail.type),
    )
    .returning(things.c.id, things.c.amount, things.c.detail, literal("made").label("how"))
)
BY_NAME = DirectStatement(
    select(things.c.id, things.c.amount, things.c.detail)
    .where(things.c.name.startswith(bindparam("prefix")))
    .order_by(things.c.amount)
)


@pytest.fixture(scope="module")
async def engine(stack: TestStack) -> AsyncIterator[AsyncEngine]:
    url = stack.database_url("direct_statements")
    await ensure_database(url)
    engine = create_engine(url, 2, 5)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


class Executed:
    """Statements SQLAlchemy itself executed while the block ran."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.count = engine.sync_engine, 0

    def _seen(self, *_: Any, **__: Any) -> None:
        self.count += 1

    def __enter__(self) -> Executed:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


async def test_runs_on_the_driver_inside_the_transaction(engine: AsyncEngine) -> None:
    prefix = uuid.uuid4().hex[:8]
    made = uuid.uuid4()
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(select(1))  # SQLAlchemy begins the transaction with its first statement
        with Executed(engine) as seen:
            [row] = await fetch(
                session,
                INSERT,
                {"id": made, "name": f"{prefix}-a", "amount": Decimal("12.34"), "detail": {"k": [1, "x"]}},
            )
            await fetch(session, INSERT, {"id": uuid.uuid4(), "name": f"{prefix}-b", "amount": 5, "detail": []})
            rows = await fetch(session, BY_NAME, {"prefix": prefix})
            via_sqlalchemy = (await session.execute(BY_NAME.statement, {"prefix": prefix})).all()
        assert seen.count == 1  # only the last one: the others went straight to asyncpg
        assert (row[0], row[1], row[2], row[3]) == (made, Decimal("12.34"), {"k": [1, "x"]}, "made")
        assert [tuple(r) for r in rows] == [tuple(r) for r in via_sqlalchemy]  # the writes are in this transaction
        assert [r[1] for r in rows] == [Decimal("5.00"), Decimal("12.34")]
        await session.rollback()
    async with sessions() as session:
        left = await session.scalar(select(func.count()).where(things.c.name.startswith(prefix)))
    assert left == 0  # rolled back with the session: they were never outside its transaction


async def test_before_the_transaction_has_begun_it_goes_through_sqlalchemy(engine: AsyncEngine) -> None:
    prefix = uuid.uuid4().hex[:8]
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        with Executed(engine) as seen:
            await fetch(session, INSERT, {"id": uuid.uuid4(), "name": f"{prefix}-a", "amount": 1, "detail": {}})
            assert seen.count == 1  # it began the transaction
            [row] = await fetch(session, BY_NAME, {"prefix": prefix})
            assert seen.count == 1 and row[1] == Decimal("1.00")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(things.c.name.startswith(prefix))) == 1


def test_expanding_parameters_are_refused() -> None:
    statement = DirectStatement(select(things.c.id).where(things.c.name.in_(["a", "b"])))
    with pytest.raises(ValueError, match="ANY"):
        statement.compiled_for(asyncpg.dialect())
