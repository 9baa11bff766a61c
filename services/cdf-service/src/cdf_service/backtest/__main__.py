"""`python -m cdf_service.backtest`: the forecast against the run-rate over the synthetic national history.

.venv/bin/python -m cdf_service.backtest                 # the table (three years, every cut-off month)
.venv/bin/python -m cdf_service.backtest --json          # the figures as JSON
.venv/bin/python -m cdf_service.backtest --store         # and store them in cdf-service's database
                                                         # (DATABASE_URL, as the service reads it)
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

import typer

from cdf_service.backtest.history import national_history
from cdf_service.backtest.history_records import HistoryPlan
from cdf_service.backtest.report import document, table
from cdf_service.backtest.run import run_backtest

app = typer.Typer(help=__doc__, add_completion=False)


@app.command()
def main(
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
    store: Annotated[bool, typer.Option(help="store the run in cdf-service's database (DATABASE_URL)")] = False,
    seed: int = 1,
    years: Annotated[int, typer.Option(min=1, help="financial years measured (the last of the history)")] = 3,
    trusts: Annotated[int, typer.Option(min=1, max=30)] = 24,
    entries: Annotated[int, typer.Option(min=1, max=80)] = 36,
    workers: Annotated[
        int, typer.Option(min=1, help="processes sharing the cut-offs (2 helps on an idle 2-core machine)")
    ] = 1,
) -> None:
    """Forecast every trust x entry at every cut-off M1..M11 from what was known then; compare with the outturn."""
    started = time.perf_counter()
    history = national_history(HistoryPlan(seed=seed, trusts=trusts, entries=entries))
    history_seconds = time.perf_counter() - started
    result = run_backtest(history, years=years, workers=workers)
    doc = document(result, history.describe(), history_seconds)
    if store:
        doc["id"] = asyncio.run(_store(doc))
    typer.echo(json.dumps(doc, indent=2) if as_json else table(doc))


async def _store(doc: dict[str, Any]) -> int:
    from casework.db import create_engine, session_factory
    from cdf_service.db.backtest_repo import store_backtest
    from cdf_service.service import definition

    engine = create_engine(definition.load_settings().database_url, 1)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await store_backtest(session, doc)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    app()
