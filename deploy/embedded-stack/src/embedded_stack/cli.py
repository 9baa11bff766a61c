"""`embedded-stack up | down | status`: the whole platform on one machine, no containers."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from pydantic import SecretStr

from casework import clock
from embedded_stack.layout import StackLayout
from embedded_stack.stack import EmbeddedStack, persona_lines, project_root, stop_recorded

app = typer.Typer(help="Run the casework platform on this machine", no_args_is_help=True)

REVIVE_EVERY_S = 2.0  # how often `up` looks for a part of the stack that died


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
            typer.echo(f"  {label:<32} {url}")
        typer.echo(f"\nSign in at {layout.console_url} as one of the dev personas (pick one on the sign-in page):")
        for line in persona_lines():
            typer.echo(f"  {line}")
        typer.echo(
            "\nA bearer token for trying the APIs: make token PERSONA=ifr-officer (a persona's token from the"
            "\nprovider) or make token ORG=X24 ROLES=ifr_officer (the dev key)"
            "\nCtrl-C or `make down` stops everything."
        )
        while not stopping.wait(REVIVE_EVERY_S):  # a part that dies is started again, and said so
            for line in stack.revive():
                if not stopping.is_set():
                    typer.echo(f"restarted: {line}")
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
    ports = {**layout.ports.services, "console": layout.ports.console}
    for name, port in ports.items():
        try:
            code = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=3).status_code
            typer.echo(f"{name:<14} {'ready' if code == 200 else f'not ready ({code})'}")
        except httpx.HTTPError:
            typer.echo(f"{name:<14} down")


@app.command()
def demo(
    trusts: Annotated[int, typer.Option(min=1, max=10, help="how many demo trusts (RRV first)")] = 3,
) -> None:
    """Fill the running stack with demo data through the public APIs: contracts and budget lines,
    the CDF list, clinicians, approvals and a SACT month per trust, IFR requests at every stage."""
    import json

    from casework.financial_year import financial_year_of
    from embedded_stack.demo import load_demo

    layout = StackLayout(project_root())
    urls = {name: layout.service_url(name) for name in layout.ports.services}
    try:
        EmbeddedStack(layout).wait_ready(timeout=30)
    except TimeoutError as not_ready:
        raise typer.BadParameter(f"{not_ready}: start the platform first (make up)") from None
    made = load_demo(urls, layout.secrets()["jwt_secret"], trusts=trusts, echo=typer.echo)
    year = financial_year_of(clock.today()).financial_year  # the forecast to look at: this year's
    typer.echo(json.dumps(made, indent=1, default=str))
    typer.echo(
        "\nLook around (token: make token ORG=X24 ROLES=contract_manager):"
        f"\n  forecast outturn  {urls['contract']}/api/v1/forecast-outturn?provider=RRV&fy={year}"
        f"\n  IFR worklist      {urls['ifr']}/api/v1/ifr/requests (ROLES=ifr_officer)"
        f"\n  mail sent         {layout.mail}"
    )


@app.command()
def revision(
    service: str, message: Annotated[str, typer.Option("-m", "--message", help="what the migration does")]
) -> None:
    """Autogenerate an Alembic revision for a service's model changes against a throwaway database."""
    import tempfile
    from pathlib import Path

    from casework.migrations import ensure_database_sync, make_revision, upgrade
    from casework.services import load_definition
    from embedded_stack.ports import free_port
    from embedded_stack.postgres import PostgresServer

    definition = load_definition(service)
    with tempfile.TemporaryDirectory() as folder:
        server = PostgresServer(Path(folder) / "data", free_port())
        server.start()
        try:
            url = server.url(service)
            ensure_database_sync(url)
            upgrade(definition, url)
            make_revision(definition, url, message)
        finally:
            server.stop("immediate")


@app.command()
def token(
    org: Annotated[str | None, typer.Option(help="ODS code (X24 = NHS England, commissioners)")] = None,
    role: Annotated[list[str] | None, typer.Option(help="a role; repeat for several")] = None,
    persona: Annotated[str | None, typer.Option(help="a dev persona: a real token from the OpenID provider")] = None,
    sub: Annotated[str, typer.Option(help="user id (dev token)")] = "dev-user",
    ttl: Annotated[int, typer.Option(help="lifetime in seconds (dev token)")] = 8 * 3600,
) -> None:
    """A bearer token the running stack accepts: a persona's, from the OpenID provider (RS256, verified by
    its JWKS like the console's), or a dev token for any organisation and roles (signed with the dev key)."""
    from casework.auth import mint_token
    from casework.settings import ServiceSettings
    from embedded_stack.oidc import API_AUDIENCE, SERVICES, OidcProvider, personas

    layout = StackLayout(project_root())
    if persona is not None:
        known = [p.id for p in personas()]
        if persona not in known:
            raise typer.BadParameter(f"unknown persona; one of: {', '.join(known)}")
        provider = OidcProvider(
            layout.oidc, layout.ports.oidc, layout.secrets(), [], SERVICES, layout.logs / "oidc.log"
        )
        typer.echo(provider.persona_token(persona))
        return
    if not org or not role:
        raise typer.BadParameter("give --persona, or --org and at least one --role")
    settings = ServiceSettings(jwt_secret=SecretStr(layout.secrets()["jwt_secret"]), jwt_audience=API_AUDIENCE)
    typer.echo(mint_token(settings, sub=sub, org=org, roles=role, ttl_s=ttl))
