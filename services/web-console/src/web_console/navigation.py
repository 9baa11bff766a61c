"""The header's menu: what each role works on. Pages still check roles through the APIs (403/404)."""

from __future__ import annotations

from typing import Any

from web_console.auth.sessions import SignedInUser

STAFF_IFR = ("ifr_officer", "panel_member", "national_analyst")
TRUST_IFR = ("clinician", "provider_system")
CDF_ROLES = ("cdf_manager", "trust_cdf_lead", "trust_pharmacist")
CONTRACT_ROLES = ("contract_manager", "finance_lead", "trust_finance")


def menu_for(user: SignedInUser | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    items = [("Home", "/")]
    if user.has_any("ifr_officer", *TRUST_IFR, "panel_member"):
        items.append(("IFR requests", "/ifr/requests"))
    if user.has_any(*TRUST_IFR, "ifr_officer"):
        items.append(("New IFR application", "/ifr/applications/new"))
    if user.has_any("ifr_officer", "panel_member"):
        items.append(("IFR panels", "/ifr/panels"))
    if user.has_any("ifr_officer", "national_analyst"):
        items.append(("IFR cohort alerts", "/ifr/cohort-alerts"))
        items.append(("IFR quarterly return", "/ifr/reports/quarterly"))
        items.append(("IFR decision consistency", "/ifr/reports/consistency"))
    if user.has_any(*CDF_ROLES, "clinician") and not user.has_any("ifr_officer"):
        items.append(("CDF applications", "/cdf/applications"))
    if user.has_any("clinician", "provider_system"):
        items.append(("Apply to the CDF", "/cdf/apply"))
    if user.has_any("trust_cdf_lead"):
        items.append(("CDF clinicians", "/cdf/clinicians"))
    if user.has_any("trust_cdf_lead", "trust_pharmacist"):
        items.append(("Send SACT data", "/sact/upload"))
    if user.has_any("trust_cdf_lead", "trust_pharmacist", "cdf_manager", "national_analyst"):
        items.append(("CDF treatments", "/cdf/treatments"))
        items.append(("SACT completeness", "/cdf/completeness"))
    if user.has_any(*CDF_ROLES, "national_analyst") and not user.has_any("ifr_officer"):
        items.append(("CDF unapproved use", "/cdf/unapproved-uses"))
    if user.has_any("cdf_manager", "national_analyst"):
        items += [
            ("CDF national list", "/cdf/list"),
            ("CDF approvals", "/cdf/approvals"),
            ("CDF forecast", "/cdf/forecasts"),
        ]
    if user.has_any(*CONTRACT_ROLES):  # a trust's finance team reads its own trust's contracts
        items.append(("Contracts", "/contracts"))
    if user.has_any(*CONTRACT_ROLES):
        items.append(("Drug expenditure returns", "/drug-returns"))
        items.append(("Validation queries", "/validation-queries"))
    if user.has_any(*CONTRACT_ROLES):
        items.append(("Forecast outturn", "/forecast-outturn"))
    if user.has_any("mail_operator"):
        items.append(("Notifications", "/mail/notifications"))
        items.append(("Mail templates", "/mail/templates"))
        items.append(("Inbound mail", "/mail/inbound"))
    if user.has_any("ig_lead"):
        items.append(("Audit of patient records", "/audit"))
    return items


def navigation_for(user: SignedInUser | None, path: str) -> dict[str, Any]:
    def current(href: str) -> bool:
        return path == href if href == "/" else path == href or path.startswith(href + "/")

    return {"items": [{"text": text, "href": href, "current": current(href)} for text, href in menu_for(user)]}
