"""Fixtures for every test in the repository: see embedded_stack.testing."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Iterator

import pytest

pytest_plugins = ["embedded_stack.testing", "embedded_stack.log_report"]

# An async test that hangs must fail with the line it hangs on. pytest-timeout's alarm cannot do that
# here: raised inside the event loop it lands in whichever task runs (a service's loop swallows it) and
# the session hangs. Cancelling the test's own coroutine first gives a TimeoutError whose traceback
# shows the await that never finished; pytest-timeout (pyproject) stays as the last resort.
ASYNC_TEST_LIMIT_S = 240.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    test = getattr(item, "obj", None)
    if not inspect.iscoroutinefunction(test):
        yield
        return

    @functools.wraps(test)
    async def within_limit(*args: object, **kwargs: object) -> object:
        async with asyncio.timeout(ASYNC_TEST_LIMIT_S):
            return await test(*args, **kwargs)

    item.obj = within_limit  # type: ignore[attr-defined]
    try:
        yield
    finally:
        item.obj = test  # type: ignore[attr-defined]
