"""Statements built once and executed again with new parameters, for hot paths.

SQLAlchemy finds a statement's compiled form by a cache key it computes by walking the statement,
and a statement built per request (every value a new bound parameter) is walked every time: on the
CDF application path that walk cost more CPU than the database work. A statement built once with
named `bindparam`s keeps its key memoised, so executing it again costs only binding the values.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.dml import UpdateBase


def param_name(table: Table, column: str) -> str:
    """The bound parameter of `column` in `row_insert(table, ...)`: unique across tables, so inserts
    into different tables can share one statement."""
    return f"{table.name}__{column}"


@functools.cache
def row_insert(table: Table, columns: tuple[str, ...], skip_conflicts: bool = False) -> UpdateBase:
    """INSERT of one row of `columns` (parameters named by `param_name`); with `skip_conflicts`,
    ON CONFLICT DO NOTHING RETURNING the primary key, so no row back means it was there already."""
    values = {c: bindparam(param_name(table, c), type_=table.c[c].type) for c in columns}
    if skip_conflicts:
        return pg_insert(table).values(values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return insert(table).values(values)


def row_params(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    return {param_name(table, c): value for c, value in row.items()}


_COMBINED: OrderedDict[tuple[int, ...], tuple[Sequence[UpdateBase], Select[Any]]] = OrderedDict()
_COMBINED_MAX = 256


def combined(statements: Sequence[UpdateBase], counted: Sequence[bool]) -> Select[Any]:
    """`WITH write_0 AS (...), write_1 AS (...) SELECT (SELECT count(*) FROM write_i) ...` for the
    statements whose `counted` is true (each needs RETURNING), or `SELECT 1` if none: every
    statement runs, in one round trip. Built once per combination of statement objects."""
    key = (*map(id, statements), *counted)
    if (found := _COMBINED.get(key)) is not None:
        _COMBINED.move_to_end(key)
        return found[1]
    ctes = [statement.cte(f"write_{i}") for i, statement in enumerate(statements)]
    counts: list[ColumnElement[Any]] = [
        select(func.count()).select_from(cte).scalar_subquery() for cte, c in zip(ctes, counted, strict=True) if c
    ]
    query = select(*(counts or [literal(1)])).add_cte(*ctes)
    _COMBINED[key] = (tuple(statements), query)  # holding the statements keeps their ids unique
    if len(_COMBINED) > _COMBINED_MAX:
        _COMBINED.popitem(last=False)
    return query
