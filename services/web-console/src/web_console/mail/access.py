"""Who may open the mail screens: the mail operations officers (and admins).

notification-service lets a trust read its own organisation's notifications, but these screens are
the national mail desk's (every organisation's mail, resends, templates), so the console refuses
anyone else before asking the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from web_console.apis import ApiProblem
from web_console.auth.sessions import Session
from web_console.deps import CurrentSession

MAIL_ROLES = ("mail_operator",)  # `has_any` lets admins in too


async def mail_operator(session: CurrentSession) -> Session:
    if not session.user.has_any(*MAIL_ROLES):
        raise ApiProblem(403, "Forbidden", "The mail screens are for the mail operations team")
    return session


MailOperator = Annotated[Session, Depends(mail_operator)]
