"""`casework` command line: migrations, serving, dev tokens, outbox replay, topics, AsyncAPI.

Each command reads the service's settings from the environment, exactly as the service does.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated

import typer

from casework.auth import mint_token
from casework.services import SERVICE_NAMES, load_definition
from casework.settings import ServiceSettings

app = typer.Typer(help="Casework platform operations", no_args_is_help=True)


@app.command()
def migrate(
    service: Annotated[str, typer.Argument(help=f"one of {', '.join(SERVICE_NAMES)}")],
    revision: str = "head",
    create_database: Annotated[bool, typer.Option(help="create the database if missing")] = True,
) -> None:
    """Upgrade the service's database (DATABASE_URL) to a revision."""
    from casework.migrations import ensure_database_sync, upgrade

    definition = load_definition(service)
    settings = definition.load_settings()
    if create_database and ensure_database_sync(settings.database_url):
        typer.echo(f"created database for {service}")
    upgrade(definition, settings.database_url, revision)
    typer.echo(f"{service}: migrated to {revision}")


@app.command("wait-for-migrations")
def wait_for_migrations(
    service: Annotated[str, typer.Argument(help=f"one of {', '.join(SERVICE_NAMES)}")],
    timeout: Annotated[float, typer.Option(help="seconds to wait before giving up (exit 1)")] = 600,
) -> None:
    """Wait until the service's database is at this code's head revision (`migrate` puts it there)."""
    from casework.migrations import wait_until_migrated

    definition = load_definition(service)
    missing = asyncio.run(wait_until_migrated(definition, definition.load_settings().database_url, timeout))
    if missing:
        typer.echo(f"{service}: database not at {', '.join(sorted(missing))} after {timeout:g} s", err=True)
        raise typer.Exit(1)
    typer.echo(f"{service}: database at head")


@app.command()
def revision(service: str, message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """Autogenerate a migration for the service from its models (needs a migrated database)."""
    from casework.migrations import make_revision

    definition = load_definition(service)
    make_revision(definition, definition.load_settings().database_url, message)


@app.command()
def serve(service: str) -> None:
    """Run the service under uvicorn on HOST:PORT from its settings (refused in production on dev settings)."""
    import uvicorn

    from casework.production_guard import settings_or_exit

    definition = load_definition(service)
    settings = settings_or_exit(definition.load_settings)  # ENVIRONMENT=production: no dev defaults, TLS
    from casework.app import create_app
    from casework.keep_alive import SERVER_KEEP_ALIVE_S

    uvicorn.run(
        create_app(definition, settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
    )


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="user id")],
    org: Annotated[str, typer.Option(help="ODS code of the user's organisation (X24 = NHS England)")],
    role: Annotated[list[str], typer.Option(help="a role; repeat for several")],
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 8 * 3600,
) -> None:
    """Mint a development bearer token signed with JWT_SECRET (where a dev key is configured)."""
    try:
        typer.echo(mint_token(ServiceSettings(), sub=sub, org=org, roles=role, ttl_s=ttl))
    except RuntimeError as no_dev_key:
        raise typer.BadParameter(str(no_dev_key)) from None


@app.command("outbox-replay")
def outbox_replay(
    service: str, since: Annotated[datetime, typer.Option(help="ISO time; events created since are re-sent")]
) -> None:
    """Re-publish outbox events created since a time (after a broker lost its data)."""
    from casework.db import create_engine, session_factory
    from casework.outbox import replay_since

    definition = load_definition(service)
    settings = definition.load_settings()

    async def run() -> int:
        engine = create_engine(settings.database_url, 2)
        try:
            return await replay_since(session_factory(engine), definition.tables, since)
        finally:
            await engine.dispose()

    typer.echo(f"{service}: {asyncio.run(run())} events marked for re-publishing")


@app.command("create-topics")
def create_topics() -> None:
    """Create every platform topic and its dead-letter topic on KAFKA_BOOTSTRAP_SERVERS (layouts: KAFKA_TOPICS)."""
    from casework.bus import ensure_topics, with_dead_letter_topics
    from casework.events import ALL_TOPICS

    settings = ServiceSettings()
    created = asyncio.run(ensure_topics(settings, with_dead_letter_topics(ALL_TOPICS)))
    typer.echo(f"created: {', '.join(created) or 'none (all existed)'}")


@app.command()
def asyncapi(service: str) -> None:
    """Print the service's AsyncAPI document."""
    from casework.events import registry
    from casework.events.asyncapi import asyncapi_document

    definition = load_definition(service)
    document = asyncapi_document(
        registry,
        title=f"{definition.title} events",
        version=definition.version,
        publishes=definition.publishes,
        subscribes=list(definition.handlers),
        bootstrap_servers=ServiceSettings().kafka_bootstrap_servers,
    )
    typer.echo(json.dumps(document, indent=2))
