"""Words people read for the codes the APIs use (states, actions, clocks, outcomes), and tag colours.

A code without a label here is shown humanised ("listed_for_panel" -> "Listed for panel"), so a new
state in a service never breaks a page.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    # IFR case states
    "draft": "Draft",
    "received": "Received",
    "acknowledged": "Acknowledged",
    "screening": "Screening",
    "returned_for_information": "Waiting for information",
    "resubmitted": "Information received",
    "redirected": "Redirected",
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
    "decided": "blue",
    "listed_for_panel": "purple",
    "awaiting_ratification": "orange",
    "quorate": "green",
    "not_quorate": "red",
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
