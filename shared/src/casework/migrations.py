"""Alembic per service: own database, own version table, shared environment.

Also the SQL a service's first migration needs for the platform tables (the audit trail is made
append-only by a trigger, so not even the service itself can rewrite history).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Protocol

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
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


def head_revisions(definition: Migratable) -> set[str]:
    """The revisions the code expects the database at (one head per service)."""
    return set(ScriptDirectory.from_config(alembic_config(definition, "")).get_heads())


async def current_revisions(definition: Migratable, database_url: str) -> set[str]:
    """The revisions the database is at: none before the first migration (or before the database exists)."""
    dsn, _ = _plain_dsn(database_url)
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return set()
    try:
        table = alembic_config(definition, database_url).attributes["version_table"]
        if await conn.fetchval("SELECT to_regclass($1)", table) is None:
            return set()
        return {row["version_num"] for row in await conn.fetch(f'SELECT version_num FROM "{table}"')}
    finally:
        await conn.close()


async def wait_until_migrated(
    definition: Migratable, database_url: str, timeout_s: float, poll_s: float = 2.0
) -> set[str]:
    """Wait until the database is at the code's head (what the migration job does); the revisions still
    missing when `timeout_s` ran out (empty: migrated). A Kubernetes init container runs this, so a pod of
    a new version never serves against the old schema, whatever order the job and the rollout run in."""
    wanted = head_revisions(definition)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            missing = wanted - await current_revisions(definition, database_url)
        except (OSError, asyncpg.PostgresError):  # the database is not reachable yet: keep waiting
            missing = wanted
        if not missing or time.monotonic() >= deadline:
            return missing
        await asyncio.sleep(poll_s)


def make_revision(definition: Migratable, database_url: str, message: str) -> None:
    command.revision(alembic_config(definition, database_url), message=message, autogenerate=True)


def _plain_dsn(database_url: str, database: str | None = None) -> tuple[str, str]:
    url = make_url(database_url)
    name = url.database or ""
    plain = url.set(drivername="postgresql", database=database or name)
    return plain.render_as_string(hide_password=False), name


async def ensure_database(database_url: str, template: str | None = None) -> bool:
    """Create the service's database when it does not exist (a copy of `template`, when given); True when
    created."""
    maintenance, name = _plain_dsn(database_url, "postgres")
    conn = await asyncpg.connect(maintenance)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return not exists
    finally:
        await conn.close()


def ensure_database_sync(database_url: str, template: str | None = None) -> bool:
    return asyncio.run(ensure_database(database_url, template))


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
