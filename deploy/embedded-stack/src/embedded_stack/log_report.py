"""A failed test's report carries what the stack's processes warned about while it ran.

The services, the console and the broker log to files under the stack's layout; a failure seen only as
"the page said a service is not answering" is explained by the line a service logged at that moment.
CI keeps nothing but the test output, so that line must be in it.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

import pytest

LOG_OFFSETS = pytest.StashKey[dict[Path, int]]()
LOGS_DIR = pytest.StashKey[Path]()
SHOWN_LEVELS = frozenset({"warning", "error", "critical"})
LINES_PER_FILE = 40


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    stack = getattr(item, "funcargs", {}).get("stack")
    if stack is not None:
        logs: Path = stack.layout.logs
        item.stash[LOGS_DIR] = logs
        item.stash[LOG_OFFSETS] = {log: log.stat().st_size for log in logs.glob("*.log")}
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed and LOGS_DIR in item.stash:
        offsets = item.stash[LOG_OFFSETS]
        for log in sorted(item.stash[LOGS_DIR].glob("*.log")):
            if lines := notable_lines(log, offsets.get(log, 0)):
                report.sections.append((f"stack log {log.name} (warnings and errors while the test ran)", lines))
    return report


def notable_lines(log: Path, offset: int) -> str:
    """The warning-or-worse entries (and any lines that are not JSON: tracebacks) written after `offset`."""
    with log.open("rb") as handle:
        handle.seek(offset)
        written = handle.read().decode(errors="replace").splitlines()
    kept = [line for line in written if _notable(line)]
    return "\n".join(kept[-LINES_PER_FILE:])


def _notable(line: str) -> bool:
    if not line.strip():
        return False
    try:
        entry = json.loads(line)
    except ValueError:
        return True
    return not isinstance(entry, dict) or str(entry.get("level", "")).lower() in SHOWN_LEVELS
