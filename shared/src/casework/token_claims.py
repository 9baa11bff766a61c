"""From a verified token's claims to the platform's `org` and `roles`: configuration, not code.

Two shapes are understood:
- **flat**: the organisation and roles are claims of their own (`org` and `roles` by default; the
  names are settings). The platform's own dev tokens are always of this shape.
- **cis2**: NHS CIS2 Authentication's national RBAC: `nhsid_nrbac_roles` lists every role the person
  holds (`person_roleid`, `org_code`, `role_code`, `role_name`) and `selected_roleid` names the one
  chosen for this session. The organisation is that role's `org_code`; its `role_code` is mapped to
  platform roles by `OIDC_ROLE_MAP`. A person acts in one role at a time, as CIS2 intends.

Pure functions: no I/O, unit-tested with claim sets shaped as the provider sends them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


class ClaimsRefused(ValueError):
    """The token is genuine but does not say who the caller is in the platform's terms."""


@dataclass(frozen=True)
class ClaimMapping:
    style: Literal["flat", "cis2"] = "flat"
    org_claim: str = "org"
    roles_claim: str = "roles"
    role_map: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def org_and_roles(self, claims: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
        if self.style == "cis2":
            org, provider_roles = _selected_cis2_role(claims)
        else:
            org, provider_roles = _flat(claims, self.org_claim, self.roles_claim)
        return org.upper(), self._platform_roles(provider_roles)

    def _platform_roles(self, provider_roles: Sequence[str]) -> frozenset[str]:
        if not self.role_map:
            return frozenset(provider_roles)
        # A provider role the map does not name grants nothing: the route's role check answers 403.
        return frozenset(role for provider_role in provider_roles for role in self.role_map.get(provider_role, ()))


def _flat(claims: Mapping[str, Any], org_claim: str, roles_claim: str) -> tuple[str, list[str]]:
    org, roles = claims.get(org_claim), claims.get(roles_claim, [])
    if not isinstance(org, str) or not org or not isinstance(roles, list):
        raise ClaimsRefused(f"token must carry `{org_claim}` (ODS code) and a `{roles_claim}` list")
    return org, [str(r) for r in roles]


def _selected_cis2_role(claims: Mapping[str, Any]) -> tuple[str, list[str]]:
    selected, held = claims.get("selected_roleid"), claims.get("nhsid_nrbac_roles")
    if not selected or not isinstance(held, list):
        raise ClaimsRefused("token must carry `selected_roleid` and `nhsid_nrbac_roles` (CIS2 national RBAC)")
    role = next((r for r in held if isinstance(r, dict) and r.get("person_roleid") == selected), None)
    if role is None or not isinstance(role.get("org_code"), str) or not role["org_code"]:
        raise ClaimsRefused("the selected role is not among the token's roles, or names no organisation")
    return role["org_code"], [str(role.get("role_code", ""))]
