"""The four services' public APIs, called with the signed-in user's own token.

The console owns no case data: every page is a read of these APIs and every form a call to them. A
problem+json answer becomes `ApiProblem` (its `errors[]` are shown at the form's fields); a service
that cannot be reached becomes `ServiceUnavailable` (a 503 page, never a stack trace).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from casework.correlation import correlation_id
from casework.keep_alive import pooled_limits


@dataclass
class ApiProblem(Exception):
    status: int
    title: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


class ServiceUnavailable(Exception):
    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


@dataclass(frozen=True)
class Reply:
    body: Any
    headers: Mapping[str, str]

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")


class ServiceApi:
    """One service's API as the signed-in user."""

    def __init__(self, name: str, client: httpx.AsyncClient, token: str) -> None:
        self.name = name
        self._client = client
        self._token = token

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if (cid := correlation_id.get()) is not None:
            headers["X-Correlation-ID"] = cid  # one correlation id from the page to the service's logs
        return headers | dict(extra or {})

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.call("GET", path, params=_plain(params))).body

    async def post(
        self,
        path: str,
        json: Any = None,
        *,
        if_match: str | None = None,
        idempotent: bool = False,
        files: Any = None,
        data: Any = None,
    ) -> Reply:
        extra = {}
        if if_match:
            extra["If-Match"] = if_match
        if idempotent:
            extra["Idempotency-Key"] = str(uuid.uuid4())
        return await self.call("POST", path, json=json, headers=extra, files=files, data=data)

    async def patch(self, path: str, json: Any, *, if_match: str) -> Reply:
        return await self.call("PATCH", path, json=json, headers={"If-Match": if_match})

    async def call(self, method: str, path: str, headers: Mapping[str, str] | None = None, **kwargs: Any) -> Reply:
        try:
            response = await self._client.request(method, f"/api/v1{path}", headers=self._headers(headers), **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(self.name, f"{type(exc).__name__}") from exc
        if response.status_code >= 500 and response.status_code != 501:
            raise ServiceUnavailable(self.name, f"answered {response.status_code}")
        if response.status_code >= 400:
            raise _problem(response)
        body = response.json() if response.content and "json" in response.headers.get("content-type", "") else None
        return Reply(body, response.headers)

    async def post_text(self, path: str, json: Any) -> str:
        """A text answer to a posted body (a CSV asked for with a body, so nothing it names is in a URL)."""
        try:
            response = await self._client.post(
                f"/api/v1{path}", json=json, headers=self._headers({"Accept": "text/csv, application/problem+json"})
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(self.name, type(exc).__name__) from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(self.name, f"answered {response.status_code}")
        if response.status_code >= 400:
            raise _problem(response)
        return response.text

    @asynccontextmanager
    async def stream(self, path: str, **params: Any) -> AsyncIterator[httpx.Response]:
        """A download (CSV, a document) passed through to the browser without holding it whole."""
        request = self._client.build_request(
            "GET", f"/api/v1{path}", params=_plain(params), headers=self._headers({"Accept": "*/*"})
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(self.name, type(exc).__name__) from exc
        try:
            if response.status_code >= 400:
                await response.aread()
                if response.status_code >= 500:
                    raise ServiceUnavailable(self.name, f"answered {response.status_code}")
                raise _problem(response)
            yield response
        finally:
            await response.aclose()


def _plain(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Query parameters without the empty ones; lists become repeated parameters."""
    pairs: list[tuple[str, Any]] = []
    for name, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(name, v) for v in values if v not in (None, "")]
    return pairs


def _problem(response: httpx.Response) -> ApiProblem:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict) and "field" in e]
    return ApiProblem(
        status=response.status_code,
        title=str(body.get("title") or response.reason_phrase),
        detail=str(body.get("detail") or ""),
        errors=[{"field": str(e["field"]), "message": str(e.get("message", "is not valid"))} for e in errors],
        body=body,
    )


class ServiceClients:
    """One pooled HTTP client per service for the console's lifetime; `as_user` binds a user's token."""

    def __init__(self, urls: Mapping[str, str], timeout_s: float) -> None:
        self._clients = {
            name: httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout_s, limits=pooled_limits())
            for name, url in urls.items()
        }

    def as_user(self, token: str) -> Apis:
        return Apis(**{name: ServiceApi(name, client, token) for name, client in self._clients.items()})

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()


@dataclass(frozen=True)
class Apis:
    ifr: ServiceApi
    cdf: ServiceApi
    contract: ServiceApi
    notification: ServiceApi
