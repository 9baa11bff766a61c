"""Calls from one platform service to another over HTTP, for the rare synchronous read.

The caller authenticates as itself: a short-lived token with the `service` role, signed with the
platform's JWT key (HS256 in development; with RS256 deployments inject a token from the identity
provider instead through `token`). Errors surface as `ServiceCallFailed` so a handler retries and,
when the other service stays down, dead-letters the event rather than losing it.
"""

from __future__ import annotations

from typing import Any

import httpx

from casework.auth import Role, mint_token
from casework.settings import ServiceSettings


class ServiceCallFailed(RuntimeError):
    pass


class ServiceClient:
    def __init__(self, settings: ServiceSettings, base_url: str, token: str | None = None, timeout_s: float = 10.0):
        self._settings = settings
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout_s

    def _bearer(self) -> str:
        if self._token:
            return self._token
        commissioner = self._settings.commissioner_orgs[0] if self._settings.commissioner_orgs else "X24"
        return mint_token(
            self._settings,
            sub=f"service:{self._settings.service_name}",
            org=commissioner,
            roles=[Role.SERVICE],
            ttl_s=300,
        )

    async def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        try:
            async with httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout) as client:
                response = await client.get(path, params=params or None, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceCallFailed(f"GET {self._base_url}{path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise ServiceCallFailed(f"GET {self._base_url}{path}: {response.status_code} {response.text[:300]}")
        return response

    async def get_json(self, path: str, **params: Any) -> Any:
        return (await self._get(path, params)).json()

    async def get_bytes(self, path: str, **params: Any) -> tuple[bytes, str]:
        """Raw content (an attachment, a document) and its content type."""
        response = await self._get(path, params)
        return response.content, response.headers.get("content-type", "application/octet-stream")
