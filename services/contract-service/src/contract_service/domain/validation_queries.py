"""Validation queries: a provider-month's unauthorised spend, challenged and settled (pure).

Raised with its lines' cost withheld from funding. The provider accepts the challenge (the lines
are not funded) or disputes it with evidence. The commissioner settles a dispute by upholding the
challenge (not funded) or accepting the evidence (funded); a commissioner may also withdraw a
challenge raised in error (funded). `funded_adjustment` is the change resolution makes to the funded
amount: the withheld value released into funding, or 0 when the challenge stands.

A query also starts from the CDF: when the commissioner challenges a trust's answer on an unapproved
use SACT showed, the patient's return lines for that drug from its first administration are withheld
on a query of their own (one per detection), settled the same way.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from casework.state_machine import TransitionTable
from casework.working_days import add_working_days
from contract_service.domain.contracts import pence


class QuerySource(StrEnum):
    DRUG_RETURN = "drug_return"  # a monthly return had spend without authority
    CDF_UNAPPROVED_USE = "cdf_unapproved_use"  # the CDF challenged a trust's answer on an unapproved use


class QueryStatus(StrEnum):
    RAISED = "raised"
    DISPUTED = "disputed"
    ACCEPTED = "accepted"  # the provider accepted the challenge
    UPHELD = "upheld"  # the commissioner upheld the challenge after a dispute
    EVIDENCE_ACCEPTED = "evidence_accepted"
    WITHDRAWN = "withdrawn"


class QueryAction(StrEnum):
    ACCEPT = "accept"  # provider
    DISPUTE = "dispute"  # provider
    UPHOLD_CHALLENGE = "uphold_challenge"  # commissioner
    ACCEPT_EVIDENCE = "accept_evidence"  # commissioner
    WITHDRAW = "withdraw"  # commissioner


S, A = QueryStatus, QueryAction
QUERY_MACHINE = TransitionTable(
    "validation_query",
    {
        (S.RAISED, A.ACCEPT): S.ACCEPTED,
        (S.RAISED, A.DISPUTE): S.DISPUTED,
        (S.RAISED, A.WITHDRAW): S.WITHDRAWN,
        (S.DISPUTED, A.UPHOLD_CHALLENGE): S.UPHELD,
        (S.DISPUTED, A.ACCEPT_EVIDENCE): S.EVIDENCE_ACCEPTED,
        (S.DISPUTED, A.WITHDRAW): S.WITHDRAWN,
    },
)
QUERY_MACHINE.check_covers(QueryStatus)

PROVIDER_ACTIONS = frozenset({A.ACCEPT, A.DISPUTE})
COMMISSIONER_ACTIONS = frozenset({A.UPHOLD_CHALLENGE, A.ACCEPT_EVIDENCE, A.WITHDRAW})
FUNDED_OUTCOMES = frozenset({S.EVIDENCE_ACCEPTED, S.WITHDRAWN})
OPEN = frozenset({S.RAISED, S.DISPUTED})


class LineFunding(StrEnum):
    """Where a return line stands: funded, or challenged and then settled."""

    FUNDED = "funded"
    CHALLENGED = "challenged"  # withheld while the query is open
    NOT_FUNDED = "not_funded"
    FUNDED_ON_RESOLUTION = "funded_on_resolution"


def is_resolved(status: str) -> bool:
    return status in QUERY_MACHINE.final_states()


def funded_adjustment(status: str, challenged_value: Decimal) -> Decimal:
    """The change to the funded amount when a query ends in `status` (withheld value released or not)."""
    return pence(challenged_value if status in FUNDED_OUTCOMES else Decimal(0))


def line_funding_after(status: str) -> LineFunding:
    if status in OPEN:
        return LineFunding.CHALLENGED
    return LineFunding.FUNDED_ON_RESOLUTION if status in FUNDED_OUTCOMES else LineFunding.NOT_FUNDED


def query_reference(provider_ods: str, period: str, sequence: int) -> str:
    """VQ-RRV-2026-05-001: what staff and the trust quote (no patient detail)."""
    return f"VQ-{provider_ods}-{period}-{sequence:03d}"


def unapproved_use_subject(drug_name: str, first_administration: date, cycles: int) -> str:
    """What the query is about, in words both sides read (no patient detail: the lines carry that)."""
    given = "1 cycle" if cycles == 1 else f"{cycles} cycles"
    return f"Unapproved CDF use of {drug_name}, first given {first_administration:%d %B %Y} ({given} in SACT)"


def respond_by(raised_on: date, working_days: int) -> date:
    return add_working_days(raised_on, working_days)
