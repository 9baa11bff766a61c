"""The console's app factory: pages, sign-in, assets, security headers, health and metrics."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework.app import CorrelationAndMetrics
from casework.correlation import correlation_id
from casework.db import create_engine
from casework.logs import configure_logging, get_logger
from casework.tracing import configure_tracing, flush_tracing, instrument_app, instrument_engines
from casework.worker import Worker
from web_console.apis import ApiProblem, ServiceClients, ServiceUnavailable
from web_console.audit import routers as audit_routers
from web_console.auth.oidc import OpenIdSignIn
from web_console.auth.routes import router as auth_router
from web_console.auth.sessions import SessionStore
from web_console.cdf import routers as cdf_routers
from web_console.contracts import routers as contract_routers
from web_console.deps import FormRefused, SignInRequired
from web_console.finance import routers as finance_routers
from web_console.home import router as home_router
from web_console.ifr import routers as ifr_routers
from web_console.mail import routers as mail_routers
from web_console.pages import render
from web_console.returns import routers as returns_routers
from web_console.settings import ConsoleSettings

log = get_logger(__name__)
STATIC = Path(__file__).parent / "static"


class SecurityHeaders:
    """Every answer: a content security policy with a per-request nonce for the one inline script the
    NHS.UK template has, no framing, no sniffing; pages (which show patient data) are never cached."""

    def __init__(self, app: ASGIApp, form_targets: str) -> None:
        self.app = app
        self.form_targets = form_targets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        static = scope["path"].startswith(("/assets/", "/nhsuk/", "/static/"))
        policy = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self' https://assets.nhs.uk; "  # the design system's Frutiger comes from NHS's CDN
            f"form-action 'self' {self.form_targets}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
        )
        headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]
        if not static:
            headers.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or static]
                message = {**message, "headers": [*existing, *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    configure_tracing(settings, "web-console")  # its calls to the services carry the page's trace

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, settings.database_pool_size, settings.database_ping_after_idle_s)
        app.state.engine = engine
        instrument_engines(engine)
        app.state.sessions = SessionStore(
            engine, settings.session_key.get_secret_value(), settings.session_idle_timeout_s, settings.session_max_age_s
        )
        app.state.sign_in = OpenIdSignIn(settings)
        app.state.services = ServiceClients(
            {
                "ifr": settings.ifr_service_url,
                "cdf": settings.cdf_service_url,
                "contract": settings.contract_service_url,
                "notification": settings.notification_service_url,
            },
            settings.api_timeout_s,
        )
        purge = asyncio.create_task(
            _purge_sessions(app.state.sessions, settings.service_name), name="console:purge-sessions"
        )
        log.info("console started", port=settings.port)
        try:
            yield
        finally:
            purge.cancel()
            with suppress(asyncio.CancelledError):
                await purge
            await app.state.services.close()
            await engine.dispose()
            await asyncio.to_thread(flush_tracing)

    app = FastAPI(title="Casework web console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.service_name = settings.service_name
    issuer = urlsplit(settings.oidc_issuer or "")
    app.add_middleware(SecurityHeaders, form_targets=f"{issuer.scheme}://{issuer.netloc}" if issuer.netloc else "")
    app.add_middleware(CorrelationAndMetrics)
    instrument_app(app)
    _install_error_pages(app)
    _mount_assets(app, settings)
    app.include_router(_platform_routes())
    app.include_router(auth_router)
    app.include_router(home_router)
    screens = (
        *ifr_routers,
        *cdf_routers,
        *contract_routers,
        *returns_routers,
        *finance_routers,
        *mail_routers,
        *audit_routers,
    )
    for router in screens:
        app.include_router(router)
    return app


def _mount_assets(app: FastAPI, settings: ConsoleSettings) -> None:
    nhsuk = settings.assets_dir / "nhsuk-frontend" / "dist" / "nhsuk"
    if not nhsuk.is_dir():
        raise RuntimeError(f"nhsuk-frontend is not installed under {settings.assets_dir}: run `make sync`")
    app.mount("/assets", StaticFiles(directory=nhsuk / "assets"), name="assets")
    app.mount("/nhsuk", StaticFiles(directory=nhsuk), name="nhsuk")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _platform_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready")
    async def ready(request: Request) -> JSONResponse:
        try:
            async with request.app.state.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
            return JSONResponse({"status": "ready", "checks": {"database": "ok"}})
        except Exception as exc:
            checks = {"database": f"unavailable: {type(exc).__name__}"}
            return JSONResponse({"status": "not ready", "checks": checks}, status_code=503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse("/sign-in?" + urlencode({"next": exc.next_path}), status_code=303)

    @app.exception_handler(FormRefused)
    async def _refused(request: Request, exc: FormRefused) -> Response:
        return render(request, "errors/form_refused.html", status_code=403)

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> Response:
        if exc.status == 401:
            return RedirectResponse("/sign-in?" + urlencode({"next": request.url.path}), status_code=303)
        template = {404: "errors/not_found.html", 403: "errors/forbidden.html"}.get(exc.status, "errors/problem.html")
        return render(request, template, status_code=exc.status, problem=exc)

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, exc: ServiceUnavailable) -> Response:
        log.warning("service unavailable", service=exc.service, reason=str(exc))
        response = render(request, "errors/unavailable.html", status_code=503, correlation_id=_correlation(request))
        response.headers["Retry-After"] = "10"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "errors/not_found.html", status_code=404)
        return render(request, "errors/problem.html", status_code=exc.status_code, problem=None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return render(request, "errors/unexpected.html", status_code=500, correlation_id=_correlation(request))


def _correlation(request: Request) -> str | None:
    return correlation_id.get() or getattr(request.state, "correlation_id", None)


async def _purge_sessions(sessions: SessionStore, service: str, every_s: float = 600) -> None:
    async def one_round() -> bool:
        removed = await sessions.purge_expired()
        if removed:
            log.info("ended sessions purged", removed=removed)
        return False

    await Worker(
        "purge-sessions", one_round, service=service, poll_s=every_s, failure_message="session purge failed"
    ).run()
