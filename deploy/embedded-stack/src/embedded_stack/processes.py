"""The stack's child processes: waiting until one answers, and stopping one for good."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_until_answers(url: str, process: subprocess.Popen[bytes] | None, log: Path, within_s: float) -> None:
    """Poll `url` until it answers 200; fail early, naming the log, if the process exits first."""
    deadline = time.monotonic() + within_s
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}; its log ends:\n{log_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {within_s}s; see {log}")
        time.sleep(0.1)


def log_tail(log: Path, lines: int = 15) -> str:
    """The end of a process's log, for the failure message (the test's temp folder may be gone later)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


def stop(process: subprocess.Popen[bytes] | None, within_s: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not gone within `within_s`."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=within_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
