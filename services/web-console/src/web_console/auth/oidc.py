"""OpenID Connect sign-in for the console: authorization code with PKCE, as NHS CIS2 Authentication works.

authlib's OAuth 2 client builds the authorization request and exchanges and refreshes tokens; the ID
token is verified here with the provider's published keys (the same `casework.oidc.ProviderKeys` the
services verify access tokens with): signature, issuer, audience (this client), expiry and nonce.
The access token is the user's own token for the platform's APIs: the console passes it on and never
shows it to the browser.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from casework.oidc import ProviderKeys, discover
from casework.token_claims import ClaimMapping, ClaimsRefused
from web_console.auth.sessions import SignedInUser, Tokens
from web_console.settings import ConsoleSettings


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in (shown to the user as a sign-in problem)."""


class OpenIdSignIn:
    def __init__(self, settings: ConsoleSettings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
            raise ValueError("the console needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
        self._settings = settings
        self._issuer = settings.oidc_issuer
        self._client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret.get_secret_value()
        self._keys = ProviderKeys(self._issuer, settings.jwks_cache_s)
        self._mapping = ClaimMapping(
            style=settings.oidc_claims_style,
            org_claim=settings.oidc_org_claim,
            roles_claim=settings.oidc_roles_claim,
            role_map=settings.oidc_role_map,
        )
        self._metadata: dict[str, Any] | None = None

    @property
    def redirect_uri(self) -> str:
        return self._settings.public_base_url.rstrip("/") + "/auth/callback"

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with httpx.AsyncClient(timeout=10) as client:
                self._metadata = await discover(client, self._issuer)
        return self._metadata

    def _client(self, **kwargs: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self._client_id,
            client_secret=self._secret,
            token_endpoint_auth_method="client_secret_basic",
            timeout=15,
            **kwargs,
        )

    async def authorization_url(self) -> tuple[str, dict[str, str]]:
        """Where to send the browser, and what the callback must find again (kept server-side)."""
        flight = {"state": generate_token(32), "nonce": generate_token(32), "code_verifier": generate_token(64)}
        async with self._client(scope=self._settings.oidc_scopes, redirect_uri=self.redirect_uri) as client:
            url, _ = client.create_authorization_url(
                (await self.metadata())["authorization_endpoint"],
                state=flight["state"],
                nonce=flight["nonce"],
                code_challenge=create_s256_code_challenge(flight["code_verifier"]),
                code_challenge_method="S256",
                resource=self._settings.jwt_audience,
            )
        return url, flight

    async def finish(self, code: str, flight: Mapping[str, str]) -> tuple[SignedInUser, Tokens]:
        try:
            async with self._client(redirect_uri=self.redirect_uri) as client:
                token = await client.fetch_token(
                    (await self.metadata())["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=flight["code_verifier"],
                    resource=self._settings.jwt_audience,
                )
        except Exception as exc:  # authlib raises its own OAuthError as well as httpx's errors
            raise SignInFailed(f"the provider refused the sign-in: {exc}") from exc
        claims = await self._id_token_claims(token.get("id_token"), flight["nonce"])
        if self._settings.oidc_fetch_userinfo:
            claims = {**claims, **await self._userinfo(token["access_token"])}
        return self._user(claims), _tokens(token)

    async def refresh(self, tokens: Tokens) -> Tokens | None:
        """New tokens from the refresh token; None when the provider no longer honours it."""
        if tokens.refresh_token is None:
            return None
        try:
            async with self._client() as client:
                token = await client.refresh_token(
                    (await self.metadata())["token_endpoint"],
                    refresh_token=tokens.refresh_token,
                    resource=self._settings.jwt_audience,
                )
        except Exception:
            return None
        refreshed = _tokens(token)
        return Tokens(
            refreshed.access_token,
            refreshed.refresh_token or tokens.refresh_token,
            refreshed.expires_at,
            refreshed.id_token or tokens.id_token,
        )

    async def end_session_url(self, tokens: Tokens, after: str) -> str | None:
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"post_logout_redirect_uri": after, "client_id": self._client_id}
        if tokens.id_token:
            query["id_token_hint"] = tokens.id_token
        return str(httpx.URL(endpoint, params=query))

    async def revoke(self, tokens: Tokens) -> None:
        endpoint = (await self.metadata()).get("revocation_endpoint")
        if not endpoint or tokens.refresh_token is None:
            return
        try:
            async with self._client() as client:
                await client.revoke_token(endpoint, token=tokens.refresh_token, token_type_hint="refresh_token")
        except Exception:
            pass  # the session ends here whatever the provider says; the refresh token expires anyway

    async def _id_token_claims(self, id_token: str | None, nonce: str) -> dict[str, Any]:
        if not id_token:
            raise SignInFailed("the provider sent no ID token")
        try:
            header = jwt.get_unverified_header(id_token)
            key = await self._keys.key(header.get("kid"))
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=self._settings.jwt_algorithms,
                audience=self._client_id,
                issuer=self._keys.issuer,
                options={"require": ["sub", "exp", "iss", "aud", "nonce"]},
            )
        except Exception as exc:
            raise SignInFailed(f"the ID token is not valid: {exc}") from exc
        if claims.get("nonce") != nonce:
            raise SignInFailed("the ID token answers another sign-in (nonce)")
        return claims

    async def _userinfo(self, access_token: str) -> dict[str, Any]:
        endpoint = (await self.metadata())["userinfo_endpoint"]
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
        if response.status_code != 200:
            raise SignInFailed(f"userinfo answered {response.status_code}")
        return dict(response.json())

    def _user(self, claims: Mapping[str, Any]) -> SignedInUser:
        try:
            org, roles = self._mapping.org_and_roles(claims)
        except ClaimsRefused as exc:
            raise SignInFailed(str(exc)) from exc
        return SignedInUser(
            sub=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            email=claims.get("email"),
            org=org,
            roles=roles,
            role_name=_selected_role_name(claims),
            is_commissioner=org in {o.upper() for o in self._settings.commissioner_orgs},
        )


def _selected_role_name(claims: Mapping[str, Any]) -> str | None:
    selected = claims.get("selected_roleid")
    for role in claims.get("nhsid_nrbac_roles") or []:
        if isinstance(role, dict) and role.get("person_roleid") == selected:
            return role.get("role_name")
    return None


def _tokens(token: Mapping[str, Any]) -> Tokens:
    expires_at = token.get("expires_at") or time.time() + float(token.get("expires_in", 300))
    return Tokens(
        access_token=str(token["access_token"]),
        refresh_token=token.get("refresh_token"),
        expires_at=float(expires_at),
        id_token=token.get("id_token"),
    )
