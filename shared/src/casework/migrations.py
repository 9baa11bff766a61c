"""Alembic per service: own database, own version table, shared environment.

Also the SQL a service's first migration needs for the platform tables (the audit trail is made
append-only by a trigger, so not even the service itself can rewrite history).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import make_url

ENV_DIR = Path(__file__).parent / "migration_env"


class Migratable(Protocol):
    """What Alembic needs of a process with its own database: a service definition, or the console's."""

    @property
    def name(self) -> str: ...
    @property
    def metadata(self) -> MetaData: ...
    @property
    def migrations(self) -> Path: ...


def alembic_config(definition: Migratable, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENV_DIR))
    config.set_main_option("version_locations", str(definition.migrations))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["target_metadata"] = definition.metadata
    config.attributes["version_table"] = f"alembic_version_{definition.name}"
    return config


def upgrade(definition: Migratable, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(definition, database_url), revision)


def make_revision(definition: Migratable, database_url: str, message: str) -> None:
    command.revision(alembic_config(definition, database_url), message=message, autogenerate=True)


def _plain_dsn(database_url: str, database: str | None = None) -> tuple[str, str]:
    url = make_url(database_url)
    name = url.database or ""
    plain = url.set(drivername="postgresql", database=database or name)
    return plain.render_as_string(hide_password=False), name


async def ensure_database(database_url: str) -> bool:
    """Create the service's database when it does not exist; True when created."""
    maintenance, name = _plain_dsn(database_url, "postgres")
    conn = await asyncpg.connect(maintenance)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
        return not exists
    finally:
        await conn.close()


def ensure_database_sync(database_url: str) -> bool:
    return asyncio.run(ensure_database(database_url))


APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION casework_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def append_only_sql(table: str) -> list[str]:
    return [
        APPEND_ONLY_FUNCTION,
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION casework_refuse_change();",
    ]
