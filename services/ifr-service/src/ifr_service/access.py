"""Who may see which cases and panels.

- Case officers (and admins, analysts, other platform services) see every case.
- Panel members see only cases on the agendas of panels they sit on (their token's `sub` is their
  member id), whatever organisation their token names.
- Other commissioner users (NHS England) see every case.
- Provider users (clinicians, provider systems, trust roles) see only their own trust's cases.
A case outside the caller's view answers 404, so its existence is not disclosed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, exists, select

from casework.auth import Principal, Role
from casework.problems import NotFound
from ifr_service.db.models import AgendaItem, IfrRequest, Panel, PanelMember

PROVIDER_ROLES = (
    Role.CLINICIAN,
    Role.PROVIDER_SYSTEM,
    Role.TRUST_CDF_LEAD,
    Role.TRUST_PHARMACIST,
    Role.TRUST_FINANCE,
)
SEES_ALL_ROLES = (Role.IFR_OFFICER, Role.ADMIN, Role.NATIONAL_ANALYST, Role.SERVICE)
READER_ROLES = (*PROVIDER_ROLES, *SEES_ALL_ROLES, Role.PANEL_MEMBER)
OFFICER_ROLES = (Role.IFR_OFFICER,)
APPLICANT_ROLES = (Role.CLINICIAN, Role.PROVIDER_SYSTEM, Role.IFR_OFFICER)
CHAIRS_ACTION_ROLES = (Role.IFR_OFFICER, Role.PANEL_MEMBER)
STAFF_ROLES = (Role.IFR_OFFICER, Role.PANEL_MEMBER, Role.NATIONAL_ANALYST)


def sees_all(principal: Principal) -> bool:
    return principal.has_any(SEES_ALL_ROLES)


def is_panel_member_only(principal: Principal) -> bool:
    return not sees_all(principal) and principal.has_any([Role.PANEL_MEMBER])


def is_staff(principal: Principal) -> bool:
    return sees_all(principal) or principal.has_any([Role.PANEL_MEMBER])


def _on_my_agendas(sub: str) -> Any:
    return exists(
        select(AgendaItem.id)
        .join(PanelMember, PanelMember.panel_id == AgendaItem.panel_id)
        .where(AgendaItem.request_id == IfrRequest.id, PanelMember.member_id == sub)
    )


def visible_cases(query: Select[Any], principal: Principal) -> Select[Any]:
    """Restrict a query over IfrRequest to the caller's view."""
    if sees_all(principal):
        return query
    if principal.has_any([Role.PANEL_MEMBER]):
        return query.where(_on_my_agendas(principal.sub))
    if principal.is_commissioner:
        return query
    return query.where(IfrRequest.provider_ods.startswith(principal.org))


def visible_panels(query: Select[Any], principal: Principal) -> Select[Any]:
    if is_panel_member_only(principal):
        return query.where(
            exists(
                select(PanelMember.id).where(PanelMember.panel_id == Panel.id, PanelMember.member_id == principal.sub)
            )
        )
    return query


def not_found(request_id: uuid.UUID) -> NotFound:
    return NotFound(f"IFR request {request_id} not found")
