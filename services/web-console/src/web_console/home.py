"""Each person's home page: what their role works on, with the figures that tell them where to start."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web_console.auth.sessions import SignedInUser
from web_console.deps import CurrentSession, UserApis
from web_console.navigation import TRUST_IFR
from web_console.pages import render

router = APIRouter()


@router.get("/")
async def home(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    user = session.user
    context: dict[str, Any] = {}
    if user.has_any("ifr_officer", *TRUST_IFR):
        context["ifr_summary"] = await apis.ifr.get("/ifr/requests/summary")
    if user.has_any("ifr_officer", "panel_member"):
        context["panels"] = (await apis.ifr.get("/ifr/panels", limit=10, upcoming=True))["items"]
    if user.has_any(*TRUST_IFR, "panel_member") and not user.has_any("ifr_officer"):
        # the API gives a panel member the cases on their panels' agendas, a trust its own requests
        context["recent"] = (await apis.ifr.get("/ifr/requests", limit=10, sort="next_due"))["items"]
    return render(request, "home.html", title="Home", other_work=other_work(user), **context)


def other_work(user: SignedInUser) -> list[tuple[str, str]]:
    """What a role outside IFR works on in the console."""
    work: list[tuple[str, str]] = []
    if user.has_any("cdf_manager", "trust_cdf_lead", "trust_pharmacist", "clinician"):
        work.append(("Cancer Drugs Fund applications", "/cdf/applications"))
    if user.has_any("contract_manager", "finance_lead", "trust_finance"):
        work.append(("Contracts, variations and budget lines", "/contracts"))
    if user.has_any("contract_manager", "finance_lead", "trust_finance"):
        work.append(("Drug expenditure returns", "/drug-returns"))
    if user.has_any("contract_manager", "finance_lead", "trust_finance", "trust_pharmacist"):
        work.append(("Validation queries on drug expenditure", "/validation-queries"))
    if user.has_any("contract_manager", "finance_lead", "trust_finance"):
        work.append(("Forecast outturn against budget", "/forecast-outturn"))
    if user.has_any("mail_operator"):
        work.append(("Notifications sent and failed", "/mail/notifications"))
        work.append(("Mail templates", "/mail/templates"))
        work.append(("Inbound mail accepted and refused", "/mail/inbound"))
    if user.has_any("ig_lead"):
        work.append(("Who read or changed a patient's records", "/audit"))
    return work


@router.get("/accessibility")
async def accessibility(request: Request) -> Response:
    return render(request, "accessibility.html", title="Accessibility statement")


@router.get("/privacy")
async def privacy(request: Request) -> Response:
    return render(request, "privacy.html", title="Privacy and patient data")
