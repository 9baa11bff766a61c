"""Who NHS England's CDF team is to the console: the pages over APIs any signed-in user may read (the
national list) or that a trust's users may read for their own trust (applications, forecasts) are the
team's work across trusts, so the console itself answers a trust user 403 on them."""

from __future__ import annotations

from typing import Annotated

from web_console.auth.sessions import Session
from web_console.deps import role_session

EDITOR_ROLES = ("cdf_manager", "admin")  # those the API lets change the national list
TEAM_ROLES = (*EDITOR_ROLES, "national_analyst")
CdfTeam = Annotated[Session, role_session(*TEAM_ROLES, who="NHS England's CDF team")]
