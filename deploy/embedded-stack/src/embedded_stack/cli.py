"""`embedded-stack up | down | status`: the whole platform on one machine, no containers."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from embedded_stack.layout import StackLayout
from embedded_stack.stack import EmbeddedStack, project_root, stop_recorded

app = typer.Typer(help="Run the casework platform on this machine", no_args_is_help=True)


@app.command()
def up() -> None:
    """Start PostgreSQL, the broker, the mail relay and the four services; Ctrl-C stops them all."""
    layout = StackLayout(project_root())
    stack = EmbeddedStack(layout)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        typer.echo("starting PostgreSQL, Tansu broker and the dev mail relay ...")
        stack.start_infrastructure()
        typer.echo("migrating databases ...")
        stack.migrate()
        typer.echo("starting services ...")
        stack.start_services()
        stack.wait_ready()
        typer.echo("\nThe casework platform is up:")
        for label, url in stack.urls():
            typer.echo(f"  {label:<30} {url}")
        typer.echo(
            "\nDev token: uv run casework token --sub me --org X24 --role ifr_officer (JWT_SECRET from "
            f"{layout.root / 'secrets.json'})\nCtrl-C or `make down` stops everything."
        )
        stopping.wait()
    finally:
        typer.echo("stopping ...")
        stack.stop()
        typer.echo("stopped; data kept in " + str(layout.root))


@app.command()
def down() -> None:
    """Stop a stack started with `up` (from another terminal)."""
    stopped = stop_recorded(StackLayout(project_root()))
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
def status() -> None:
    """Show which parts of the stack answer."""
    import httpx

    layout = StackLayout(project_root())
    for name, port in layout.ports.services.items():
        try:
            code = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=3).status_code
            typer.echo(f"{name:<14} {'ready' if code == 200 else f'not ready ({code})'}")
        except httpx.HTTPError:
            typer.echo(f"{name:<14} down")
