"""Calls from one platform service to another over HTTP, for the rare synchronous read.

The caller authenticates as itself: with its own client at the OpenID provider (client credentials,
`OIDC_CLIENT_ID` / `OIDC_CLIENT_SECRET`), whose token the provider maps to the `service` role; where
no client is configured and a dev key is (tests), a short-lived dev token with the `service` role.
Errors surface as `ServiceCallFailed` so a handler retries and, when the other service stays down,
dead-letters the event rather than losing it.
"""

from __future__ import annotations

from typing import Any

import httpx

from casework.auth import Role, mint_token
from casework.oidc import ClientCredentials, ProviderUnavailable
from casework.settings import PlatformSettings

# One token source per process and client: a token is fetched once and reused until it nearly expires.
_credentials: dict[tuple[str, str], ClientCredentials] = {}


class ServiceCallFailed(RuntimeError):
    pass


class ServiceClient:
    def __init__(self, settings: PlatformSettings, base_url: str, token: str | None = None, timeout_s: float = 10.0):
        self._settings = settings
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout_s

    async def _bearer(self) -> str:
        if self._token:
            return self._token
        settings = self._settings
        if settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret:
            key = (settings.oidc_issuer, settings.oidc_client_id)
            if key not in _credentials:
                _credentials[key] = ClientCredentials(
                    settings.oidc_issuer,
                    settings.oidc_client_id,
                    settings.oidc_client_secret.get_secret_value(),
                    settings.jwt_audience,
                )
            try:
                return await _credentials[key].token()
            except ProviderUnavailable as exc:
                raise ServiceCallFailed(str(exc)) from exc
        if settings.jwt_secret is None:
            raise ServiceCallFailed("no OIDC client (OIDC_CLIENT_ID/OIDC_CLIENT_SECRET) to authenticate with")
        commissioner = self._settings.commissioner_orgs[0] if self._settings.commissioner_orgs else "X24"
        return mint_token(
            self._settings,
            sub=f"service:{self._settings.service_name}",
            org=commissioner,
            roles=[Role.SERVICE],
            ttl_s=300,
        )

    async def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self._bearer()}"}
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
