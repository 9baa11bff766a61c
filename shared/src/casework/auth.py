"""Bearer JWT authentication and the organisation rule.

Tokens carry `sub` (user), `org` (ODS code of the user's organisation) and `roles`. Commissioners
(users of an organisation in `commissioner_orgs`, NHS England by default) see every organisation;
everyone else sees only records of their own organisation. A record of another organisation answers
404, never 403, so its existence is not disclosed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from casework.problems import NotFound, Problem
from casework.settings import ServiceSettings


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
    settings: ServiceSettings, sub: str, org: str, roles: Iterable[str], ttl_s: int = 3600, **claims: object
) -> str:
    now = int(time.time())
    payload = {
        "sub": sub,
        "org": org.upper(),
        "roles": sorted(str(r) for r in roles),
        "iat": now,
        "exp": now + ttl_s,
        **claims,
    }
    if settings.jwt_audience:
        payload.setdefault("aud", settings.jwt_audience)
    return jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def decode_token(settings: ServiceSettings, token: str) -> Principal:
    key, algorithm = (
        (settings.jwt_public_key, "RS256")
        if settings.jwt_public_key
        else (settings.jwt_secret.get_secret_value(), "HS256")
    )
    principal, expires = _verified(
        token, key, algorithm, settings.jwt_audience, frozenset(o.upper() for o in settings.commissioner_orgs)
    )
    if expires <= time.time():  # a token seen before is still checked for expiry on every use
        raise Unauthorised("token expired")
    return principal


@functools.lru_cache(maxsize=4096)
def _verified(
    token: str, key: str, algorithm: str, audience: str | None, commissioner_orgs: frozenset[str]
) -> tuple[Principal, float]:
    """The principal a token names and when it expires. Remembered per token (a client sends the
    same token for many requests; the signature and claims cannot change without changing the token
    string); a token that fails is never remembered, expiry is checked by the caller every time."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            options={"require": ["sub", "exp"], "verify_aud": audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorised("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorised(f"invalid token: {exc}") from None
    org, roles = claims.get("org"), claims.get("roles", [])
    if not isinstance(org, str) or not org or not isinstance(roles, list):
        raise Unauthorised("token must carry `org` (ODS code) and a `roles` list")
    org = org.upper()
    principal = Principal(
        sub=str(claims["sub"]),
        org=org,
        roles=frozenset(str(r) for r in roles),
        is_commissioner=org in commissioner_orgs,
    )
    return principal, float(claims["exp"])


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorised("a bearer token is required")
    principal = decode_token(request.app.state.runtime.settings, credentials.credentials)
    request.state.principal = principal
    return principal


def require_roles(*roles: str) -> Callable[..., object]:
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
