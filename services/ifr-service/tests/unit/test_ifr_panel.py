"""Quorum, conflicts and the independence of a review panel."""

from ifr_service.domain.panel import (
    DEFAULT_QUORUM,
    Member,
    QuorumRule,
    not_independent,
    participating,
    quorum_shortfall,
    unknown_members,
)

PANEL = [
    Member("chair-1", "chair", True),
    Member("doc-1", "clinician", True),
    Member("doc-2", "clinician", True),
    Member("ph-1", "public_health", True),
    Member("lay-1", "lay_member", True),
    Member("pharm-1", "pharmacist", False),
]
EVERYONE = [m.member_id for m in PANEL]


def test_full_panel_is_quorate() -> None:
    assert quorum_shortfall(participating(PANEL, EVERYONE, []), DEFAULT_QUORUM) == []


def test_a_conflicted_member_does_not_count() -> None:
    shortfall = quorum_shortfall(participating(PANEL, EVERYONE, ["ph-1"]), DEFAULT_QUORUM)
    assert shortfall == ["public_health: 1 needed, 0 present and not conflicted"]


def test_absent_chair_and_too_few_voting_members() -> None:
    shortfall = quorum_shortfall(participating(PANEL, ["doc-1", "ph-1", "lay-1", "pharm-1"], []), DEFAULT_QUORUM)
    assert shortfall == [
        "chair: 1 needed, 0 present and not conflicted",
        "voting members: 4 needed, 3 present and not conflicted",
    ]


def test_deputy_chair_stands_in_and_the_rule_is_configurable() -> None:
    panel = [*PANEL[1:], Member("dep-1", "deputy_chair", True)]
    assert quorum_shortfall(panel, DEFAULT_QUORUM) == []
    strict = QuorumRule(required_roles={"pharmacist": 1, "clinician": 3}, min_voting=6)
    assert quorum_shortfall(panel, strict) == [
        "clinician: 3 needed, 2 present and not conflicted",
        "voting members: 6 needed, 5 present and not conflicted",
    ]


def test_unknown_members_and_review_independence() -> None:
    assert unknown_members(PANEL, ["doc-1", "stranger"]) == ["stranger"]
    review = [Member("chair-9", "chair", True), Member("doc-2", "clinician", True)]
    assert not_independent(review, [PANEL]) == ["doc-2"]
    assert not_independent(review[:1], [PANEL]) == []
