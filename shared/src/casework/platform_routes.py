"""Routes every service has: health, metrics, AsyncAPI, dead-letter administration."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import select, text

from casework.auth import Role, require_roles
from casework.bus import new_producer
from casework.deps import Runtime
from casework.events.asyncapi import asyncapi_document
from casework.inbox import DeadLetterReplayError
from casework.problems import Conflict, NotFound

router = APIRouter()


@router.get("/health/live", tags=["platform"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _database_ready(runtime: Runtime) -> str:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return "ok"


async def _broker_ready(runtime: Runtime) -> str:
    producer = new_producer(runtime.settings)
    try:
        await asyncio.wait_for(producer.start(), timeout=3)
        return "ok"
    finally:
        await producer.stop()


@router.get("/health/ready", tags=["platform"], summary="Database and broker reachable")
async def ready(runtime: Runtime) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, probe in (("database", _database_ready), ("broker", _broker_ready)):
        try:
            checks[name] = await asyncio.wait_for(probe(runtime), timeout=5)
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if healthy else "not ready", "checks": checks}, status_code=200 if healthy else 503
    )


@router.get("/metrics", tags=["platform"], summary="Prometheus metrics")
async def metrics(runtime: Runtime) -> Response:
    await runtime.relay.backlog()
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
