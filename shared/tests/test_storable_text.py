"""The guard against text PostgreSQL cannot store: a 422 naming the field, everything else untouched."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Request

from casework.problems import install_problem_handlers
from casework.storable_text import StorableTextGuard, first_unstorable

app = FastAPI()
app.add_middleware(StorableTextGuard)
install_problem_handlers(app)
seen: list[bytes] = []


@app.post("/echo")
async def echo(request: Request) -> dict:
    body = await request.body()
    seen.append(body)
    return {"length": len(body)}


@app.get("/search")
async def search(q: str = "") -> dict:
    return {"q": q}


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"panel": {"members": [{"name": "ok"}, {"name": "\ud824"}]}}, "panel.members.1.name"),
        ({"ok": "fine", "bad\x00key": 1}, "bad\x00key"),
        (["x", "y\x00"], "1"),
        ("\x00", "body"),
        ({"name": "Zoë – 日本 \u2028 \\u0000 as text"}, None),
    ],
)
def test_first_unstorable_names_the_path(document: object, field: str | None) -> None:
    assert first_unstorable(document) == field


async def test_a_nul_in_a_json_body_is_refused_before_the_route() -> None:
    seen.clear()
    response = await call(
        "POST", "/echo", content=b'{"a": {"b": ["fine", "x\\u0000y"]}}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": "a.b.1", "message": response.json()["errors"][0]["message"], "type": "unstorable_text"}
    ]
    assert seen == []  # the route never ran


async def test_storable_bodies_reach_the_route_byte_for_byte() -> None:
    seen.clear()
    body = '{"name": "Zoë \\u00e9 \\"quoted\\" \\\\u0000 is only text"}'.encode()
    response = await call("POST", "/echo", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and seen == [body]
    csv = b"a,b\n1,\x002\n"  # not JSON: left to the route's own checks
    assert (await call("POST", "/echo", content=csv, headers={"Content-Type": "text/csv"})).status_code == 200
    assert seen[-1] == csv


async def test_a_nul_in_the_query_is_refused_naming_the_parameter() -> None:
    response = await call("GET", "/search?q=a%00b")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "q"
    assert (await call("GET", "/search?q=caf%C3%A9")).json() == {"q": "café"}
