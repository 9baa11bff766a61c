"""The console's own database: sessions only (it owns no case data). Alembic migrations like the services'."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import MetaData

from web_console.auth.sessions import metadata


@dataclass(frozen=True)
class ConsoleDatabase:
    name: str = "console"
    metadata: MetaData = field(default=metadata)
    migrations: Path = Path(__file__).parent / "migrations" / "versions"


CONSOLE_DATABASE = ConsoleDatabase()
