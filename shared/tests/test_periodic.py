"""Periodic jobs keep running after a failing round."""

import asyncio
from types import SimpleNamespace

from casework.periodic import every


async def test_job_runs_repeatedly_and_survives_a_failure() -> None:
    rounds: list[int] = []

    async def job(runtime: object) -> None:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            raise RuntimeError("one bad round")

    runtime = SimpleNamespace(settings=SimpleNamespace(service_name="test"))  # all a job's loop reads of it
    task = asyncio.create_task(every(0.01, job, "sweep")(runtime))  # type: ignore[arg-type]
    while len(rounds) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    assert rounds[:4] == [0, 1, 2, 3]
    assert every(1, job, "sweep").__name__ == "sweep"
