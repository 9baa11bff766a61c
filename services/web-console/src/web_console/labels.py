"""Words people read for the codes the APIs use (states, actions, clocks, outcomes), and tag colours.

A code without a label here is shown humanised ("listed_for_panel" -> "Listed for panel"), so a new
state in a service never breaks a page.
"""

from __future__ import annotations

# NHS England's commissioning regions by ODS code (ifr-service's domain/regions.py), in its order
REGIONS: tuple[tuple[str, str], ...] = (
    ("Y56", "London"),
    ("Y58", "South West"),
    ("Y59", "South East"),
    ("Y60", "Midlands"),
    ("Y61", "East of England"),
    ("Y62", "North West"),
    ("Y63", "North East and Yorkshire"),
)

LABELS: dict[str, str] = {
    # IFR case states
    "draft": "Draft",
    "received": "Received",
    "acknowledged": "Acknowledged",
    "screening": "Screening",
    "returned_for_information": "Waiting for information",
    "resubmitted": "Information received",
    "redirected": "Redirected",
    "service_development": "Service development request",
    "screened_out": "Screened out",
    "listed_for_panel": "Listed for panel",
    "decided": "Decided",
    "reconsideration": "Reconsideration requested",
    "review": "Review requested",
    "listed_for_review": "Listed for review panel",
    "review_decided": "Review decided",
    "awaiting_ratification": "Chair's action, awaiting ratification",
    "listed_for_ratification": "Listed for ratification",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
    # the national CDF list (an entry's status, apart from a detection's "open")
    "list_open": "Open",
    "list_closed": "Closed",
    "kaplan_meier": "Time on treatment from SACT history (Kaplan-Meier)",
    "expected_duration": "The entry's expected cycles (too little SACT history)",
    # SACT completeness
    "completeness_met": "Meets",
    "completeness_below": "Below",
    # CDF registrations
    "pending": "Waiting for the trust's CDF lead",
    "confirmed": "Confirmed",
    "revoked": "Revoked",
    # CDF unapproved use
    "open": "Waiting for the trust",
    "answered": "Answered by the trust",
    "challenged": "Challenged",
    "accepted": "Accepted",
    # notifications
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    # validation queries on drug expenditure returns, and a return line's funding
    "raised": "Waiting for the trust",
    "disputed": "Disputed by the trust",
    "evidence_accepted": "Evidence accepted",
    "funded": "Funded",
    "not_funded": "Not funded",
    "funded_on_resolution": "Funded on resolution",
    # stages
    "intake": "Intake",
    "panel": "Panel",
    # actions
    "submit": "Submit the application",
    "acknowledge": "Acknowledge receipt",
    "screen": "Start screening",
    "request-information": "Ask the clinician for information",
    "provide-information": "Send the information asked for",
    "redirect": "Redirect (not an IFR)",
    "redirect-service-development": "Redirect as a service development request",
    "screen-out": "Screen out",
    "list-for-panel": "List for a panel",
    "decide": "Record the panel's decision",
    "request-reconsideration": "Ask for reconsideration",
    "request-review": "Ask for a review",
    "decide-review": "Record the review panel's finding",
    "chairs-action": "Record a chair's action (urgent)",
    "ratify": "Ratify the chair's action",
    "overturn": "Overturn the chair's action",
    "withdraw": "Withdraw the request",
    "close": "Close the case",
    # clock timeliness
    "on_time": "On time",
    "due_soon": "Due soon",
    "overdue": "Overdue",
    "paused": "Paused",
    "met": "Met",
    "missed": "Missed",
    "cancelled": "Not needed",
    # outcomes
    "approved": "Approved",
    "approved_with_conditions": "Approved with conditions",
    "declined": "Declined",
    "upheld": "Upheld",
    "flawed": "Flawed: back to an IFR panel",
    # quorum
    "quorate": "Quorate",
    "not_quorate": "Not quorate",
    # contracts: service line categories, budget line kinds, derogation states
    "tariff": "Tariff",
    "non_tariff": "Non-tariff",
    "excluded_drugs": "Excluded drugs",
    "excluded_devices": "Excluded devices",
    "cdf": "Cancer Drugs Fund",
    "high_cost_drug": "High-cost drugs",
    "device": "Devices",
    "proposed": "Proposed",
    "agreed": "Agreed",
    "delivered": "Delivered",
    "breached": "Breached",
    "sanctioned": "Sanctioned",
    "rejected": "Rejected",
    # budgets
    "at_risk": "At risk",
    "within_budget": "Within budget",
    # urgency
    "routine": "Routine",
    "urgent": "Urgent",
    # redirect and screen-out reasons
    "cohort": "Other patients are likely to be in the same situation (cohort)",
    "not_nhs_england_responsibility": "Not NHS England's responsibility",
    "incomplete": "The application is incomplete",
    "no_prospect_of_exceptionality": "No prospect of showing exceptionality",
    # panel roles and kinds
    "chair": "Chair",
    "deputy_chair": "Deputy chair",
    "clinician": "Clinician",
    "public_health": "Public health",
    "pharmacist": "Pharmacist",
    "lay_member": "Lay member",
    "commissioner": "Commissioner",
    "ifr": "IFR panel",
    # NHS England's commissioning regions (ODS codes; ifr-service's domain/regions.py)
    **dict(REGIONS),
    # sexes
    "female": "Female",
    "male": "Male",
    "other": "Other",
    "not_known": "Not known",
}

CLOCKS: dict[str, str] = {
    "acknowledge": "Acknowledge receipt",
    "triage": "Completeness check",
    "screening_outcome": "Screening outcome",
    "panel_decision": "Panel decision",
    "decision_letter": "Decision letter",
    "review_window": "Clinician's review window",
    "review_decision": "Review decision",
    "ratification": "Ratification of chair's action",
}

TAG_COLOURS: dict[str, str] = {
    "overdue": "red",
    "missed": "red",
    "due_soon": "orange",
    "paused": "grey",
    "on_time": "green",
    "met": "green",
    "cancelled": "white",
    "approved": "green",
    "approved_with_conditions": "green",
    "declined": "red",
    "urgent": "red",
    "returned_for_information": "yellow",
    "draft": "grey",
    "closed": "grey",
    "withdrawn": "grey",
    "open": "orange",
    "pending": "orange",
    "completeness_met": "green",
    "list_open": "green",
    "list_closed": "grey",
    "completeness_below": "red",
    "confirmed": "green",
    "revoked": "grey",
    "answered": "blue",
    "challenged": "red",
    "accepted": "green",
    "decided": "blue",
    "listed_for_panel": "purple",
    "awaiting_ratification": "orange",
    "service_development": "grey",
    "quorate": "green",
    "at_risk": "red",
    "within_budget": "green",
    "proposed": "orange",
    "agreed": "blue",
    "delivered": "green",
    "breached": "red",
    "sanctioned": "red",
    "rejected": "grey",
    "not_quorate": "red",
    "queued": "grey",
    "sending": "blue",
    "sent": "green",
    "failed": "red",
    "raised": "orange",
    "disputed": "yellow",
    "evidence_accepted": "green",
    "funded": "green",
    "not_funded": "red",
    "funded_on_resolution": "green",
}


def label(code: object) -> str:
    if code is None:
        return ""
    text = str(code)
    return LABELS.get(text) or text.replace("_", " ").replace("-", " ").capitalize()


def clock_label(code: object) -> str:
    return CLOCKS.get(str(code)) or label(code)


def tag_colour(code: object) -> str:
    return TAG_COLOURS.get(str(code), "blue")


# What an action did, in the past tense: the case's history and the banner after the action.
DONE: dict[str, str] = {
    "submit": "Application submitted",
    "acknowledge": "Receipt acknowledged",
    "screen": "Screening started",
    "request-information": "Information requested from the clinician",
    "provide-information": "Information sent",
    "redirect": "Redirected",
    "redirect-service-development": "Redirected as a service development request (one of a cohort)",
    "screen-out": "Screened out",
    "list-for-panel": "Listed for a panel",
    "decide": "Panel decision recorded",
    "request-reconsideration": "Reconsideration requested",
    "request-review": "Review requested",
    "decide-review": "Review panel's finding recorded",
    "chairs-action": "Chair's action recorded",
    "ratify": "Chair's action ratified",
    "overturn": "Chair's action overturned by the panel",
    "withdraw": "Withdrawn",
    "close": "Closed",
}
# The words a history entry's detail carries, by the action that wrote them.
_SAID = ("information_needed", "information", "new_information", "grounds", "reason", "text")


def history_entry(action: str, detail: dict) -> tuple[str, str | None]:
    """(what happened, what was said) for one entry of a case's audit trail."""
    if action.startswith("transition:"):
        step = action.removeprefix("transition:")
        said = next((str(detail[k]) for k in _SAID if detail.get(k)), None)
        if detail.get("outcome"):
            said = label(detail["outcome"]) + (f": {said}" if said else "")
        return DONE.get(step, label(step)), said
    if action == "create":
        return "Draft started" + (" from an nhs.net mail" if detail.get("inbound_id") else ""), None
    if action == "update":
        fields = ", ".join(detail.get("fields") or [])
        return "Draft saved", (f"Sections: {fields}" if fields else None)
    if action == "document.upload":
        return "Document attached" + (" from the mail" if detail.get("from") == "mail" else ""), None
    if action == "document.read":
        return "Document opened", None
    if action == "letter":
        return f"Letter sent: {label(detail.get('kind'))}", None
    if action == "note":
        return "Note", detail.get("text")
    if action == "assign":
        return f"Assigned to {detail.get('to')}", None
    if action == "conflict_declared":
        return f"Conflict of interest declared by {detail.get('member')}", None
    if action in ("deadline_approaching", "deadline_breached"):
        what = "Deadline approaching" if action == "deadline_approaching" else "Deadline missed"
        return f"{what}: {clock_label(detail.get('clock'))}", f"Due {detail.get('due_date')}"
    return label(action), None


# The audit trail (web_console.audit): what was done to a record, and what kind of record it was.
AUDIT_ACTIONS: dict[str, str] = {
    "read": "Read",
    "list": "Saw in a list",
    "search": "Searched for the patient",
    "export": "Exported",
    "create": "Created",
    "update": "Changed",
    "history.read": "Read the history",
    "letters.read": "Read the letters",
    "document.read": "Opened a document",
    "document.upload": "Attached a document",
    "read_attachment": "Opened an attachment",
    "resend": "Resent",
    "audit.patient": "Looked at a patient's audit trail",
    "audit.patient.export": "Exported a patient's audit trail",
    "audit.user": "Looked at a user's audit trail",
    "audit.user.export": "Exported a user's audit trail",
}
AUDIT_RECORDS: dict[str, str] = {
    "ifr_request": "IFR case",
    "ifr_requests": "IFR cases",
    "cdf_application": "CDF application",
    "cdf_treatment": "CDF treatments",
    "cdf_unapproved_use": "Unapproved use",
    "sact_submission": "SACT submission",
    "commitment": "Commitment",
    "drug_return": "Drug expenditure return",
    "drug_return_lines": "Drug expenditure return lines",
    "validation_query": "Validation query",
    "notification": "Mail",
    "inbound_mail": "Received mail",
    "audit_events": "Audit trail",
}


def audit_action(code: str) -> str:
    if code.startswith("transition:"):
        return DONE.get(code.removeprefix("transition:"), label(code.removeprefix("transition:")))
    return AUDIT_ACTIONS.get(code) or label(code)


def audit_record(entity_type: str, entity_id: str) -> tuple[str, str]:
    """(the kind of record, its id); a row about several records (a list, a search) has no one id."""
    kind = AUDIT_RECORDS.get(entity_type) or label(entity_type)
    many = entity_id in ("*", "nhs_number", "reference", "patient", "user", "worklist")
    return kind, "" if many else entity_id
