"""Routes every service has: health, metrics, AsyncAPI, dead-letter administration."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import select, text

from casework.auth import Role, require_roles
from casework.dead_letters import DeadLetterReplayError
from casework.deps import Runtime
from casework.events.asyncapi import asyncapi_document
from casework.problems import Conflict, NotFound

router = APIRouter()


@router.get("/health/live", tags=["platform"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _database_ready(runtime: Runtime) -> str:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return "ok"


@router.get(
    "/health/ready",
    tags=["platform"],
    summary="Can serve requests: the database is reachable (the broker's state is reported, not required)",
)
async def ready(runtime: Runtime) -> JSONResponse:
    """200 while the database answers, 503 when it does not. The broker is not required: while it is down
    the API keeps accepting work (the outbox holds the events), so its state is reported in `checks`
    and listed in `degraded` (and as the metric `casework_broker_up`) without taking the API out."""
    checks: dict[str, str] = {}
    try:
        checks["database"] = await asyncio.wait_for(_database_ready(runtime), timeout=5)
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["broker"] = await runtime.broker_health.current()
    degraded = [name for name, state in checks.items() if state != "ok" and name != "database"]
    if checks["database"] != "ok":
        return JSONResponse({"status": "not ready", "checks": checks, "degraded": degraded}, status_code=503)
    return JSONResponse({"status": "degraded" if degraded else "ready", "checks": checks, "degraded": degraded})


@router.get("/metrics", tags=["platform"], summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics(runtime: Runtime) -> Response:
    await runtime.relay.backlog()
    for refresh in runtime.definition.metrics:
        await refresh(runtime)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/asyncapi.json", tags=["platform"], summary="Events this service publishes and consumes")
async def asyncapi(runtime: Runtime) -> dict[str, Any]:
    definition = runtime.definition
    return asyncapi_document(
        runtime.registry,
        title=f"{definition.title} events",
        version=definition.version,
        publishes=definition.publishes,
        subscribes=list(definition.handlers),
        bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
    )


class DeadLetter(BaseModel):
    id: int
    consumer: str
    event_id: str | None
    event_type: str | None
    topic: str
    partition: int | None
    offset: int | None
    error: str
    attempts: int
    created_at: datetime
    replayed_at: datetime | None
    replay_error: str | None


admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_roles(Role.ADMIN))])


@admin.get("/dead-letters", response_model=list[DeadLetter], summary="Events whose handler kept failing")
async def dead_letters(
    runtime: Runtime, include_replayed: bool = False, limit: int = Query(100, ge=1, le=1000)
) -> list[DeadLetter]:
    letters = runtime.tables.dead_letters
    query = select(letters).order_by(letters.c.id).limit(limit)
    if not include_replayed:
        query = query.where(letters.c.replayed_at.is_(None))
    async with runtime.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [DeadLetter(**{**row, "event_id": str(row["event_id"]) if row["event_id"] else None}) for row in rows]


@admin.post("/dead-letters/{letter_id}/replay", summary="Handle a dead letter again, once")
async def replay(letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)], runtime: Runtime) -> dict[str, Any]:
    if runtime.consumer is None:
        raise NotFound(f"dead letter {letter_id} not found")
    try:
        outcome = await runtime.consumer.replay_dead_letter(letter_id)
    except LookupError:
        raise NotFound(f"dead letter {letter_id} not found") from None
    except DeadLetterReplayError as exc:
        raise Conflict(f"replay failed: {exc}") from None
    return {"id": letter_id, "outcome": outcome}
