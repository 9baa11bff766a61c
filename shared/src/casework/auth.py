"""Bearer JWT authentication and the organisation rule.

Tokens come from the OpenID provider (verified by its JWKS: `iss`, `aud`, expiry, signature) or, where
a dev key is configured, are dev tokens signed with it. Either way they say who is calling: `sub`
(user), and through the claim mapping (`casework.token_claims`) the ODS code of the user's
organisation (`org`) and their `roles`. Commissioners (users of an organisation in
`commissioner_orgs`, NHS England by default) see every organisation; everyone else sees only records of
their own organisation. A record of another organisation answers
404, never 403, so its existence is not disclosed.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from casework.oidc import ProviderKeys, ProviderUnavailable, UnknownSigningKey
from casework.problems import NotFound, Problem
from casework.settings import DEV_TOKEN_ISSUER, PlatformSettings
from casework.token_claims import ClaimMapping, ClaimsRefused


class Role(StrEnum):
    # provider (trust) side
    CLINICIAN = "clinician"
    TRUST_CDF_LEAD = "trust_cdf_lead"
    TRUST_PHARMACIST = "trust_pharmacist"
    TRUST_FINANCE = "trust_finance"
    PROVIDER_SYSTEM = "provider_system"
    # commissioner side
    IFR_OFFICER = "ifr_officer"
    PANEL_MEMBER = "panel_member"
    CDF_MANAGER = "cdf_manager"
    CONTRACT_MANAGER = "contract_manager"
    FINANCE_LEAD = "finance_lead"
    NATIONAL_ANALYST = "national_analyst"
    MAIL_OPERATOR = "mail_operator"  # watches the mail: delivery, resends, templates, inbound
    IG_LEAD = "ig_lead"  # information governance: who read or changed a patient's records
    ADMIN = "admin"
    SERVICE = "service"  # another platform service calling over HTTP


class Unauthorised(Problem):
    status, title = 401, "Unauthorised"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(Problem):
    status, title = 403, "Forbidden"


@dataclass(frozen=True)
class Principal:
    sub: str
    org: str
    roles: frozenset[str]
    is_commissioner: bool

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & {str(r) for r in roles})

    def can_see(self, org_code: str) -> bool:
        return self.is_commissioner or org_code.upper().startswith(self.org.upper())

    def org_filter(self) -> str | None:
        """The organisation a list must be restricted to; None for commissioners."""
        return None if self.is_commissioner else self.org


def mint_token(
    settings: PlatformSettings, sub: str, org: str, roles: Iterable[str], ttl_s: int = 3600, **claims: object
) -> str:
    """A dev token signed with the dev key (JWT_SECRET): for `casework token`, tests and the demo."""
    key = dev_key(settings)
    if key is None:
        raise RuntimeError("no dev key (JWT_SECRET unset, or ENVIRONMENT=production): sign in through the provider")
    now = int(time.time())
    payload = {
        "sub": sub,
        "org": org.upper(),
        "roles": sorted(str(r) for r in roles),
        "iss": DEV_TOKEN_ISSUER,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_s,
        **claims,
    }
    return jwt.encode(payload, key.key, algorithm="HS256")


DEV_KEY_MAPPING = ClaimMapping()  # the platform's own dev tokens carry `org` and `roles` as they are


def decode_token(settings: PlatformSettings, token: str) -> Principal:
    """The principal of a dev token (HS256, signed with JWT_SECRET); refused where no dev key is set."""
    return _dev_principal(token, dev_key(settings), settings.jwt_audience, _commissioners(settings))


def dev_key(settings: PlatformSettings) -> VerifyingKey | None:
    """The dev key; none in production even where JWT_SECRET is set (the production guard refuses that too)."""
    if settings.jwt_secret is None or settings.environment == "production":
        return None
    secret = settings.jwt_secret.get_secret_value()
    return VerifyingKey(f"dev:{hashlib.sha256(secret.encode()).hexdigest()}", secret)


def _dev_principal(token: str, key: VerifyingKey | None, audience: str, commissioners: frozenset[str]) -> Principal:
    if key is None:
        raise Unauthorised("dev tokens are not accepted here; sign in through the identity provider")
    return _principal(token, key, ("HS256",), DEV_TOKEN_ISSUER, audience, DEV_KEY_MAPPING, commissioners)


def _commissioners(settings: PlatformSettings) -> frozenset[str]:
    return frozenset(o.upper() for o in settings.commissioner_orgs)


@dataclass(frozen=True, eq=False)
class VerifyingKey:
    """A key with a stable identity, so a verdict remembered for a token is tied to the key that gave it."""

    id: str
    key: Any

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyingKey) and other.id == self.id


def _principal(
    token: str,
    key: VerifyingKey,
    algorithms: tuple[str, ...],
    issuer: str,
    audience: str,
    mapping: ClaimMapping,
    commissioner_orgs: frozenset[str],
) -> Principal:
    claims = _verified_claims(token, key, algorithms, issuer, audience)
    if claims["exp"] <= time.time():  # a token seen before is still checked for expiry on every use
        raise Unauthorised("token expired")
    try:
        org, roles = mapping.org_and_roles(claims)
    except ClaimsRefused as exc:
        raise Unauthorised(str(exc)) from None
    return Principal(sub=str(claims["sub"]), org=org, roles=roles, is_commissioner=org in commissioner_orgs)


@functools.lru_cache(maxsize=4096)
def _verified_claims(
    token: str, key: VerifyingKey, algorithms: tuple[str, ...], issuer: str, audience: str
) -> Mapping[str, Any]:
    """The claims of a token whose signature, issuer and audience hold. Remembered per token and key
    (a client sends the same token for many requests; the signature and claims cannot change without
    changing the token string); a token that fails is never remembered, and the caller checks expiry
    on every use."""
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=list(algorithms),
            audience=audience,
            issuer=issuer,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorised("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorised(f"invalid token: {exc}") from None
    return MappingProxyType(claims)


class TokenVerifier:
    """Bearer tokens of one process: the provider's (signature checked with its published keys) and,
    where a dev key is configured, dev tokens. Both must name the platform's audience and their issuer."""

    def __init__(self, settings: PlatformSettings) -> None:
        self._settings = settings
        self._keys = (
            ProviderKeys(settings.oidc_issuer, settings.jwks_cache_s, settings.jwks_refetch_after_s)
            if settings.oidc_issuer
            else None
        )
        self._mapping = ClaimMapping(
            style=settings.oidc_claims_style,
            org_claim=settings.oidc_org_claim,
            roles_claim=settings.oidc_roles_claim,
            role_map=settings.oidc_role_map,
        )
        self._commissioners = _commissioners(settings)
        self._dev_key = dev_key(settings)  # built once: every request with a dev token uses it

    async def principal(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorised(f"invalid token: {exc}") from None
        if header.get("alg") == "HS256":
            return _dev_principal(token, self._dev_key, self._settings.jwt_audience, self._commissioners)
        if self._keys is None or header.get("alg") not in self._settings.jwt_algorithms:
            raise Unauthorised(f"tokens signed with {header.get('alg')!r} are not accepted")
        try:
            key = await self._keys.key(header.get("kid"))
        except UnknownSigningKey as exc:
            raise Unauthorised(f"invalid token: {exc}") from None
        except ProviderUnavailable as exc:
            raise IdentityProviderUnavailable(f"the identity provider's keys could not be read: {exc}") from None
        return _principal(
            token,
            VerifyingKey(f"{self._keys.issuer}#{header.get('kid')}", key.key),
            tuple(self._settings.jwt_algorithms),
            self._keys.issuer,
            self._settings.jwt_audience,
            self._mapping,
            self._commissioners,
        )


class IdentityProviderUnavailable(Problem):
    status, title = 503, "Identity provider unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


_bearer = HTTPBearer(auto_error=False)
# request state: (token, principal) verified before the body was read (casework.request_body)
VERIFIED_PRINCIPAL = "verified_principal"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None without one."""
    scheme, token = get_authorization_scheme_param(authorization)
    return token if scheme.lower() == "bearer" and token else None


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorised("a bearer token is required")
    verified = getattr(request.state, VERIFIED_PRINCIPAL, None)
    if verified is not None and verified[0] == credentials.credentials:
        principal: Principal = verified[1]
    else:
        principal = await request.app.state.runtime.tokens.principal(credentials.credentials)
    request.state.principal = principal
    return principal


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller holds at least one of `roles` (admins pass every check)."""
    wanted = {str(r) for r in roles} | {Role.ADMIN.value}

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has_any(wanted):
            raise Forbidden(f"requires one of the roles: {', '.join(sorted(wanted))}")
        return principal

    return check


def ensure_visible(principal: Principal, org_code: str, what: str, ident: object) -> None:
    """Raise 404 when the record belongs to an organisation the caller may not see."""
    if not principal.can_see(org_code):
        raise NotFound(f"{what} {ident} not found")
