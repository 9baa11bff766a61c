"""Statements built once and run straight on the asyncpg connection of the session's transaction.

Per execution SQLAlchemy spends more CPU than asyncpg does on the round trip itself: about 0.2 ms
against 0.07 ms for a small statement on the 2-core test machine (`casework.prepared` already saves
the statement's construction and cache-key walk; this is what is left: the execution context, the
parameter and result processing, the greenlet hops). On a path that runs a few statements for every
consumed event, a hundred times a second, that is a large share of the service's CPU.

`DirectStatement(statement)` compiles the statement once for the connection's dialect and keeps the
SQL, the order of its parameters, the conversion SQLAlchemy would apply to each (JSON serialised;
most types go to asyncpg as they are) and the values of its literal parameters. `fetch` then binds
the values and runs it with asyncpg's own prepared-statement cache, on the driver connection beneath
the session, inside the transaction SQLAlchemy began. When that transaction has not begun on the
connection yet (asyncpg starts it with the first statement SQLAlchemy runs), the statement goes
through SQLAlchemy instead, which begins it.

What differs from `session.execute`: rows are asyncpg Records (tuples by position, values decoded by
the codecs SQLAlchemy set on the connection, so JSON comes back as Python objects and UUIDs as
asyncpg's uuid.UUID subclass); no SQLAlchemy event fires; a database error is asyncpg's exception,
not SQLAlchemy's wrapper. Statements with expanding IN parameters cannot be compiled once (use
`= ANY(:array)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    convert: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = [params[n] if n in params else self.fixed[n] for n in self.names]
        return [v if c is None or v is None else c(v) for c, v in zip(self.convert, values, strict=True)]


class DirectStatement:
    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}

    def compiled_for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver, dialect.server_version_info)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]  # every statement we pass is a ClauseElement
        names = tuple(compiled.positiontup or ())
        binds = [compiled.binds[n] for n in names]
        if any(b.expanding for b in binds):
            raise ValueError("a statement with expanding IN parameters cannot be compiled once; use = ANY(array)")
        return _Compiled(
            sql=str(compiled),
            names=names,
            convert=tuple(b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds),
            fixed={n: b.value for n, b in zip(names, binds, strict=True) if b.value is not None or not b.required},
        )


async def fetch(session: AsyncSession, statement: DirectStatement, params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of `statement` run with `params` in the session's transaction (see the module)."""
    connection = await session.connection()
    sync = connection.sync_connection  # checked out for the session's transaction: no I/O to reach the driver
    usable = sync is not None and not sync.invalidated and connection.dialect.driver == "asyncpg"
    driver = sync.connection.driver_connection if usable else None  # type: ignore[union-attr]  # usable: not None
    if driver is None or not driver.is_in_transaction():
        return (await connection.execute(statement.statement, dict(params))).all()
    compiled = statement.compiled_for(connection.dialect)
    return await driver.fetch(compiled.sql, *compiled.arguments(params))  # type: ignore[no-any-return]  # asyncpg: untyped
