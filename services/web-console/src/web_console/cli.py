"""`web-console migrate | serve`: the console's database and its server, configured by the environment."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

app = typer.Typer(help="The casework web console", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Create the console's database if missing and upgrade it (DATABASE_URL)."""
    from casework.migrations import ensure_database_sync, upgrade
    from web_console.database import CONSOLE_DATABASE
    from web_console.settings import ConsoleSettings

    url = ConsoleSettings().database_url
    ensure_database_sync(url)
    upgrade(CONSOLE_DATABASE, url)
    typer.echo("console: migrated to head")


@app.command("wait-for-migrations")
def wait_for_migrations(
    timeout: Annotated[float, typer.Option(help="seconds to wait before giving up (exit 1)")] = 600,
) -> None:
    """Wait until the console's database is at this code's head revision (`migrate` puts it there)."""
    from casework.migrations import wait_until_migrated
    from web_console.database import CONSOLE_DATABASE
    from web_console.settings import ConsoleSettings

    missing = asyncio.run(wait_until_migrated(CONSOLE_DATABASE, ConsoleSettings().database_url, timeout))
    if missing:
        typer.echo(f"console: database not at {', '.join(sorted(missing))} after {timeout:g} s", err=True)
        raise typer.Exit(1)
    typer.echo("console: database at head")


@app.command()
def serve() -> None:
    """Run the console under uvicorn on HOST:PORT (refused in production on dev settings)."""
    import uvicorn

    from casework.production_guard import settings_or_exit
    from web_console.settings import ConsoleSettings

    settings = settings_or_exit(ConsoleSettings)  # ENVIRONMENT=production: no dev defaults, TLS
    from casework.keep_alive import SERVER_KEEP_ALIVE_S
    from web_console.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
    )
