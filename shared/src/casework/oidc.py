"""Talking to the OpenID provider: its discovery document, its signing keys, this process's own token.

Signing keys (`ProviderKeys`): a token names its key by `kid`. Known keys are kept for `JWKS_CACHE_S`;
a token signed with a key not yet seen makes the cache fetch the key set again (the provider has
rotated its keys), but at most once every `min_refetch_s`, so a stream of tokens with made-up key ids
cannot turn every request into a call to the provider.

A service's own token (`ClientCredentials`): when one service calls another it authenticates as
itself with the client credentials grant, for the platform's API audience, and reuses the token until
shortly before it expires.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt


class ProviderUnavailable(RuntimeError):
    """The provider's discovery document or key set could not be read."""


class UnknownSigningKey(LookupError):
    pass


class ProviderKeys:
    def __init__(self, issuer: str, cache_s: float = 600, min_refetch_s: float = 5, timeout_s: float = 5) -> None:
        self.issuer = issuer.rstrip("/")
        self._cache_s = cache_s
        self._min_refetch_s = min_refetch_s
        self._timeout_s = timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._jwks_uri: str | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        if time.monotonic() - self._fetched_at > self._cache_s:
            await self._refresh(force=True)
        if kid in self._keys:
            return self._keys[kid]
        await self._refresh(force=False)
        if kid not in self._keys:
            raise UnknownSigningKey(f"no signing key {kid!r} at {self.issuer}")
        return self._keys[kid]

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            since = time.monotonic() - self._fetched_at
            if since < self._min_refetch_s or (force and since <= self._cache_s):
                return  # another request refreshed while this one waited, or too soon to ask again
            try:
                async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                    document = await self._get(client, self._jwks_uri or await self._discover(client))
            except (httpx.HTTPError, ValueError) as exc:
                raise ProviderUnavailable(f"{self.issuer}: {type(exc).__name__}: {exc}") from exc
            self._keys = _signing_keys(document)
            self._fetched_at = time.monotonic()

    async def _discover(self, client: httpx.AsyncClient) -> str:
        self._jwks_uri = str((await discover(client, self.issuer))["jwks_uri"])
        return self._jwks_uri

    @staticmethod
    async def _get(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        response = await client.get(url)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document


async def discover(client: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    """The provider's discovery document, refused unless it names the issuer it was asked for."""
    issuer = issuer.rstrip("/")
    response = await client.get(f"{issuer}/.well-known/openid-configuration")
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ValueError(f"discovery names issuer {document.get('issuer')!r}, expected {issuer!r}")
    return document


class ClientCredentials:
    """This process's access token for the platform's APIs, from the provider's token endpoint."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, audience: str, timeout_s: float = 10) -> None:
        self._issuer = issuer
        self._client_id = client_id
        self._client_secret = client_secret
        self._audience = audience
        self._timeout_s = timeout_s
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token, lifetime = await self._fetch()
                # renewed well before it expires, so a token is never used at its very end
                self._renew_at = time.monotonic() + max(lifetime * 0.8, lifetime - 60)
            return self._token

    async def _fetch(self) -> tuple[str, float]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                endpoint = (await discover(client, self._issuer))["token_endpoint"]
                response = await client.post(
                    endpoint,
                    data={"grant_type": "client_credentials", "resource": self._audience},
                    auth=(self._client_id, self._client_secret),
                )
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise ProviderUnavailable(f"client credentials for {self._client_id}: {type(exc).__name__}: {exc}") from exc
        return str(body["access_token"]), float(body.get("expires_in", 300))


def _signing_keys(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []):
        if entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type this library cannot use: tokens signed with it are refused as unknown
    return keys
