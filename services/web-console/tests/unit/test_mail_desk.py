"""The mail desk's pure parts: the template API's problems at the parts they name, and who may open it."""

from __future__ import annotations

import pytest

from web_console.apis import ApiProblem
from web_console.auth.sessions import Session, SignedInUser, Tokens
from web_console.mail.access import mail_operator
from web_console.mail.templates import _problem


def test_a_template_problem_is_shown_at_the_part_it_names() -> None:
    problem = ApiProblem(
        422,
        "Unprocessable",
        "subject: uses the patient identifier field(s) nhs_number; subjects carry no patient identifiers",
        errors=[
            {
                "field": "subject",
                "message": (
                    "subject: uses the patient identifier field(s) nhs_number; subjects carry no patient identifiers"
                ),
            },
            {"field": "template", "message": "template x v2: does not render"},
        ],
    )
    errors = _problem(problem)
    assert errors.by_field["subject"] == (
        "Subject: uses the patient identifier field(s) nhs_number; subjects carry no patient identifiers"
    )
    assert errors.by_field["template"] == "The template: does not render"  # in the summary (no such field)
    stale = _problem(ApiProblem(412, "Precondition Failed", "stale"))
    assert not stale.by_field and "changed since you opened it" in stale.general[0]


def session_of(*roles: str) -> Session:
    user = SignedInUser("sub", "Name", None, "X24", frozenset(roles), None, is_commissioner=True)
    return Session("hash", user, Tokens("access", None, 0.0, None), "csrf")


@pytest.mark.parametrize("roles", [("mail_operator",), ("admin",)])
async def test_the_mail_desk_and_admins_may_open_it(roles: tuple[str, ...]) -> None:
    assert await mail_operator(session_of(*roles))


@pytest.mark.parametrize("roles", [("clinician",), ("ifr_officer",), ("ig_lead",)])
async def test_anyone_else_is_refused_with_403(roles: tuple[str, ...]) -> None:
    with pytest.raises(ApiProblem) as refused:
        await mail_operator(session_of(*roles))
    assert refused.value.status == 403
