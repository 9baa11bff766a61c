"""Bulk load of the national list from CSV (the admin import and the demo seed use it).

A row for an unknown entry creates version 1; a row equal to the version in force on its
`effective_from` is left alone (so loading the same file twice changes nothing); any other row adds
a version from its `effective_from`, which must be after the latest version's start. Problems are
collected and nothing is written if any.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from cdf_service.db import list_repo
from cdf_service.domain.list_csv import ListRow, RowProblem, parse_list_csv
from cdf_service.domain.national_list import InvalidListEntry, VersionConflict

SEED_LIST = Path(__file__).parent.parent / "data" / "national_list.csv"


class ListLoadProblems(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the list file")


@dataclass
class LoadOutcome:
    created: list[str] = field(default_factory=list)
    versioned: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


async def load_list_csv(session: AsyncSession, text: str, created_by: str) -> LoadOutcome:
    """Apply the file in the caller's transaction; raise ListLoadProblems (nothing flushed) if any row is bad."""
    rows, problems = parse_list_csv(text)
    if problems:
        raise ListLoadProblems(problems)
    outcome = LoadOutcome()
    async with session.begin_nested():  # a bad row undoes the rows before it
        for row in rows:
            problem = await _apply(session, row, created_by, outcome)
            if problem is not None:
                problems.append(problem)
        if problems:
            raise ListLoadProblems(problems)
    return outcome


async def _apply(session: AsyncSession, row: ListRow, created_by: str, outcome: LoadOutcome) -> RowProblem | None:
    entry = row.entry
    latest = await list_repo.latest_version(session, entry.entry_id, lock=True)
    if latest is None:
        try:
            await list_repo.add_first_version(session, entry, created_by, row.change_note)
        except InvalidListEntry as exc:
            return RowProblem(row.row, "entry", str(exc))
        outcome.created.append(f"{entry.entry_id}/v1")
        return None
    then = await list_repo.entry_on(session, entry.entry_id, entry.effective_from)
    if then is not None and list_repo.content_of(list_repo.to_domain(then)) == list_repo.content_of(entry):
        outcome.unchanged.append(f"{entry.entry_id}/v{then.version}")  # already loaded: history is kept
        return None
    changes = list_repo.content_of(entry)
    try:
        new = await list_repo.add_next_version(
            session, latest, changes, entry.effective_from, created_by, row.change_note
        )
    except (VersionConflict, InvalidListEntry) as exc:
        return RowProblem(row.row, "effective_from" if isinstance(exc, VersionConflict) else "entry", str(exc))
    outcome.versioned.append(f"{entry.entry_id}/v{new.version}")
    return None


async def load_seed_list(session: AsyncSession, path: Path = SEED_LIST) -> LoadOutcome:
    """The demo's national list (real drugs and indications; dm+d ids plausible, check digits valid)."""
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return await load_list_csv(session, text, "seed")
