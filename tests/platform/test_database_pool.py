"""The pool checks connections without a ping on every checkout, and still survives lost connections."""

import asyncio

from sqlalchemy import text

from casework.db import create_engine
from embedded_stack.testing import TestStack


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(stack: TestStack, pid: int) -> None:
    other = create_engine(stack.database_url("postgres"), 1)
    try:
        async with other.connect() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
    finally:
        await other.dispose()


def _count_pings(engine) -> list[int]:
    pings = [0]
    original = engine.dialect.do_ping

    def counting(dbapi_connection) -> bool:
        pings[0] += 1
        return original(dbapi_connection)

    engine.dialect.do_ping = counting
    return pings


async def test_recently_used_connection_is_not_pinged_and_idle_one_is(stack: TestStack) -> None:
    engine = create_engine(stack.database_url("postgres"), 1, ping_after_idle_s=0.3)
    pings = _count_pings(engine)
    try:
        first = await _backend_pid(engine)
        for _ in range(5):
            assert await _backend_pid(engine) == first
        assert pings[0] == 0  # each checkout follows the last within the idle limit
        await asyncio.sleep(0.4)
        assert await _backend_pid(engine) == first
        assert pings[0] == 1  # idle past the limit: pinged, alive, kept
    finally:
        await engine.dispose()


async def test_connection_the_server_closed_is_replaced_without_an_error(stack: TestStack) -> None:
    engine = create_engine(stack.database_url("postgres"), 1, ping_after_idle_s=3600)
    try:
        first = await _backend_pid(engine)
        await _terminate(stack, first)
        await asyncio.sleep(0.2)  # the server's goodbye reaches the client's event loop
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


async def test_connection_whose_ping_fails_is_replaced(stack: TestStack) -> None:
    engine = create_engine(stack.database_url("postgres"), 1, ping_after_idle_s=0)
    first = await _backend_pid(engine)
    original = engine.dialect.do_ping
    failed: list[int] = []

    def ping(dbapi_connection) -> bool:
        if not failed:  # a connection that died silently (its socket still looks open)
            failed.append(1)
            raise ConnectionResetError("connection reset by peer")
        return original(dbapi_connection)

    engine.dialect.do_ping = ping
    try:
        assert await _backend_pid(engine) != first
        assert failed == [1]
    finally:
        await engine.dispose()


async def test_a_transaction_left_waiting_is_ended_and_its_row_lock_freed(stack: TestStack) -> None:
    """A process paused inside a transaction (SIGSTOP, a frozen VM) keeps its row locks while it is paused;
    a takeover's `FOR UPDATE SKIP LOCKED` skips the row all that time (cdf's SACT worker: a stopped
    replica's file never taken over). With `idle_in_transaction_timeout_s` PostgreSQL ends the
    transaction, and the row is free again."""
    from embedded_stack.testing import eventually

    url = stack.database_url("postgres")
    paused, other = create_engine(url, 1, idle_in_transaction_timeout_s=0.5), create_engine(url, 1)
    table = "lease_probe"
    try:
        async with other.begin() as conn:
            await conn.execute(text(f"CREATE TABLE IF NOT EXISTS {table} (id int PRIMARY KEY)"))
            await conn.execute(text(f"INSERT INTO {table} VALUES (1) ON CONFLICT DO NOTHING"))
        held = await paused.connect()
        await held.begin()
        await held.execute(text(f"SELECT id FROM {table} WHERE id = 1 FOR UPDATE"))  # then it waits on nothing

        async def free() -> bool:
            async with other.connect() as conn:
                skip_locked = text(f"SELECT id FROM {table} WHERE id = 1 FOR UPDATE SKIP LOCKED")
                return (await conn.execute(skip_locked)).first() is not None

        assert not await free()  # locked while the transaction lives
        await eventually(free, within=10)
        try:
            await held.close()
        except Exception:  # its session was ended by the server: closing may say so
            pass
    finally:
        await paused.dispose()
        await other.dispose()
