"""The case's own copy of each letter: plain text, with the reasons in full.

notification-service mails the clinician the minimum (reference, what is needed, a link); the full
letter with the panel's reasons is what the case keeps and what the link shows. Subjects carry the
case reference only, never a patient identifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# event type -> letter kind
LETTER_EVENTS: Mapping[str, str] = {
    "ifr.request.acknowledged": "acknowledgement",
    "ifr.request.information_requested": "request_for_information",
    "ifr.request.redirected": "screening_outcome",
    "ifr.request.screened_out": "screening_outcome",
    "ifr.request.service_development": "screening_outcome",
    "ifr.decision.made": "decision",
    "ifr.request.review_decided": "review_outcome",
}

_OUTCOME_WORDS = {
    "approved": "approved",
    "approved_with_conditions": "approved with conditions",
    "declined": "not approved",
}


@dataclass(frozen=True)
class Letter:
    kind: str
    subject: str
    body: str


def _bullets(items: list[str]) -> str:
    return "\n".join(f"  - {i}" for i in items) if items else "  (none)"


def _acknowledgement(d: Mapping[str, Any]) -> str:
    due = d.get("screening_due")
    when = f" We expect to complete screening by {due}." if due else ""
    return f"We have received your Individual Funding Request {d['reference']}.{when}"


def _information(d: Mapping[str, Any]) -> str:
    by = f" Please reply by {d['respond_by']}." if d.get("respond_by") else ""
    return (
        f"To consider request {d['reference']} we need more information:\n\n  {d['information_needed']}\n\n"
        f"The case's deadlines are paused until the information arrives.{by}"
    )


def _screening(d: Mapping[str, Any]) -> str:
    if "redirect_reason" in d:
        to = f" It has been passed to {d['redirected_to']}." if d.get("redirected_to") else ""
        return f"Request {d['reference']} is not an Individual Funding Request: {d['redirect_reason']}.{to}"
    return (
        f"Screening found that request {d['reference']} cannot go to the IFR panel, for these reasons:\n"
        f"{_bullets(list(d.get('reasons', [])))}\n\n"
        "A screening outcome can be looked at again only if there is new clinical information."
    )


def _service_development(d: Mapping[str, Any]) -> str:
    said = f"\n\nThe case officer adds: {d['explanation']}" if d.get("explanation") else ""
    return (
        f"Request {d['reference']} will not go to an IFR panel. NHS England has received "
        f"{d['cohort_requests']} requests for the same treatment, for patients with the same condition, from "
        f"trusts in the {d['region_name']} region within {d['window_months']} months.\n\n"
        "When a treatment is requested for a group of patients rather than for one patient, it is a question "
        "for commissioning policy: NHS England considers it as a service development, and the region's "
        "specialised commissioning policy team will look at whether it should be routinely commissioned for "
        "the group. An Individual Funding Request can fund a treatment only for a patient whose clinical "
        "circumstances are exceptional compared with other patients with the same condition, so the IFR "
        f"panel will not decide this request; it has been passed to the policy team with the others "
        f"(cohort alert {d['alert_reference']}).{said}\n\n"
        "If your patient's clinical circumstances differ from those of the group, send new information "
        "showing how, through the link to this request, and it will be screened again as an individual request."
    )


def _decision(d: Mapping[str, Any]) -> str:
    reasons = d["reasons"]
    who = "The IFR panel has considered"
    if d.get("basis") == "chairs_action":
        who = "Because the request is urgent, the chair of the IFR panel has, by chair's action, considered"
    text = (
        f"{who} request {d['reference']} ({d['treatment_name']}) and the funding "
        f"request is {_OUTCOME_WORDS.get(d['outcome'], d['outcome'])} (decided on {d['decided_on']}).\n\n"
        f"Exceptionality: {reasons['exceptionality']}\n"
        f"Clinical effectiveness: {reasons['clinical_effectiveness']}\n"
        f"Value for money: {reasons['value_for_money']}\n"
    )
    if d.get("conditions"):
        text += f"\nConditions of funding:\n{_bullets(list(d['conditions']))}\n"
    if d.get("approved_cost") is not None:
        text += f"\nApproved cost: £{d['approved_cost']}\n"
    if d.get("ratification_due"):
        text += (
            "\nThis decision takes effect now. The IFR panel will ratify it, or replace it with its own decision, "
            f"by {d['ratification_due']}; we will write again if it changes.\n"
        )
    if d.get("supersedes"):
        text += "\nThis decision replaces the earlier decision on this request.\n"
    return text + (
        "\nIf there is significant new clinical information you may ask the panel to reconsider. "
        "If you believe the process was not followed you may ask for a review."
    )


def _review(d: Mapping[str, Any]) -> str:
    result = (
        "the decision stands"
        if d["outcome"] == "upheld"
        else "the process was flawed and the case goes back to an IFR panel"
    )
    reference = d["reference"]
    return f"The review panel has reviewed the process followed for request {reference}: {result}.\n\n{d['reasons']}"


_BODIES = {
    "ifr.request.acknowledged": _acknowledgement,
    "ifr.request.information_requested": _information,
    "ifr.request.redirected": _screening,
    "ifr.request.screened_out": _screening,
    "ifr.request.service_development": _service_development,
    "ifr.decision.made": _decision,
    "ifr.request.review_decided": _review,
}
_SUBJECTS = {
    "acknowledgement": "Individual Funding Request {reference}: received",
    "request_for_information": "Individual Funding Request {reference}: information needed",
    "screening_outcome": "Individual Funding Request {reference}: screening outcome",
    "decision": "Individual Funding Request {reference}: decision",
    "review_outcome": "Individual Funding Request {reference}: review outcome",
}


def render(event_type: str, data: Mapping[str, Any]) -> Letter | None:
    """The letter an event sends, or None when the event sends no letter."""
    kind = LETTER_EVENTS.get(event_type)
    if kind is None:
        return None
    body = f"Dear {data.get('clinician_name') or 'colleague'},\n\n{_BODIES[event_type](data)}\n\nIFR case team\n"
    return Letter(kind, _SUBJECTS[kind].format(reference=data["reference"]), body)
