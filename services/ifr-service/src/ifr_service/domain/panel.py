"""IFR panels: membership, declared conflicts, quorum, and the independence of a review panel.

The panel is independent and multidisciplinary; a decision may be recorded only when the members
present and not conflicted make a quorum (the rule is configuration: DOMAIN.md's default is a chair
or deputy, a clinician, a public health member and a lay member, with at least four voting members).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class PanelKind(StrEnum):
    IFR = "ifr"
    REVIEW = "review"


class MemberRole(StrEnum):
    CHAIR = "chair"
    DEPUTY_CHAIR = "deputy_chair"
    CLINICIAN = "clinician"
    PUBLIC_HEALTH = "public_health"
    PHARMACIST = "pharmacist"
    LAY_MEMBER = "lay_member"
    COMMISSIONER = "commissioner"


# A deputy chairs in the chair's absence.
COUNTS_AS: Mapping[str, str] = {MemberRole.DEPUTY_CHAIR: MemberRole.CHAIR}


@dataclass(frozen=True)
class Member:
    member_id: str
    role: str
    voting: bool


@dataclass(frozen=True)
class QuorumRule:
    required_roles: Mapping[str, int]
    min_voting: int


DEFAULT_QUORUM = QuorumRule(
    required_roles={
        MemberRole.CHAIR: 1,
        MemberRole.CLINICIAN: 1,
        MemberRole.PUBLIC_HEALTH: 1,
        MemberRole.LAY_MEMBER: 1,
    },
    min_voting=4,
)


def participating(members: Iterable[Member], present: Iterable[str], conflicted: Iterable[str]) -> list[Member]:
    """Members who are present and have not declared a conflict on this case."""
    here, out = set(present), set(conflicted)
    return [m for m in members if m.member_id in here and m.member_id not in out]


def quorum_shortfall(members: Iterable[Member], rule: QuorumRule) -> list[str]:
    """What is missing for a quorum among the participating `members` (empty when quorate)."""
    members = list(members)
    counts: dict[str, int] = {}
    for m in members:
        role = COUNTS_AS.get(m.role, m.role)
        counts[role] = counts.get(role, 0) + 1
    missing = []
    for role, needed in rule.required_roles.items():
        have = counts.get(str(role), 0)
        if have < needed:
            missing.append(f"{role}: {needed} needed, {have} present and not conflicted")
    voting = sum(1 for m in members if m.voting)
    if voting < rule.min_voting:
        missing.append(f"voting members: {rule.min_voting} needed, {voting} present and not conflicted")
    return missing


def unknown_members(members: Iterable[Member], named: Iterable[str]) -> list[str]:
    known = {m.member_id for m in members}
    return sorted(set(named) - known)


def not_independent(review_panel: Iterable[Member], original_panels: Iterable[Iterable[Member]]) -> list[str]:
    """Members of a review panel who sat on a panel that decided the case (a review must be heard by
    a different panel)."""
    earlier = {m.member_id for panel in original_panels for m in panel}
    return sorted({m.member_id for m in review_panel} & earlier)


CHAIR_ROLES = frozenset({MemberRole.CHAIR, MemberRole.DEPUTY_CHAIR})


def chairs_action_refusal(kind: str, members: Iterable[Member], chair: str, conflicted: Iterable[str]) -> str | None:
    """Why `chair` may not decide this case by chair's action for this panel (None when they may):
    only the chair or deputy chair of an IFR panel, and not one who declared a conflict on the case."""
    if kind != PanelKind.IFR:
        return "chair's action is taken by the chair of an IFR panel, not of a review panel"
    member = next((m for m in members if m.member_id == chair), None)
    if member is None:
        return f"{chair} is not a member of this panel"
    if member.role not in CHAIR_ROLES:
        return f"{chair} is the panel's {member.role}: only its chair or deputy chair may take chair's action"
    if chair in set(conflicted):
        return f"{chair} has declared a conflict of interest on this case"
    return None


def recorder_refusal(members: Iterable[Member], recorder: str, conflicted: Iterable[str]) -> str | None:
    """Why a panel member may not record their panel's decision on a case (None when they may): the
    chair or deputy chair records it, and not on a case they stepped out of."""
    member = next((m for m in members if m.member_id == recorder), None)
    if member is None or member.role not in CHAIR_ROLES:
        return "the panel's decision is recorded by its chair or deputy chair, or by a case officer"
    if recorder in set(conflicted):
        return "you declared a conflict of interest on this case"
    return None
