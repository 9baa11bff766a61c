"""The baseline the CDF benchmarks compare with: a bare FastAPI endpoint doing one asyncpg INSERT.

Run as a process exactly as the service is (uvicorn.run, same defaults):
    BARE_DSN=postgresql://... BARE_PORT=8999 python bench/bare_insert.py
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DDL = "CREATE TABLE IF NOT EXISTS bare_applications (id uuid PRIMARY KEY, body jsonb NOT NULL)"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BARE_DSN"], min_size=10, max_size=10)
    async with app.state.pool.acquire() as conn:
        await conn.execute(DDL)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/insert", status_code=201)
async def insert(request: Request) -> Any:
    body = await request.json()
    ident = uuid.uuid4()
    await request.app.state.pool.execute("INSERT INTO bare_applications VALUES ($1, $2)", ident, json.dumps(body))
    return JSONResponse({"id": str(ident)}, status_code=201)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["BARE_PORT"]), log_config=None)
