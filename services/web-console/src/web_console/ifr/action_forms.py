"""The form of each IFR case action, declared once: its fields (named by the API body's paths), its
words and its button. Which actions a case allows comes from the API (`allowed_actions`); this says
only how to ask for each. The option values match ifr-service's enums (checked against its OpenAPI
document in the tests)."""

from __future__ import annotations

from dataclasses import dataclass

from web_console.form_fields import Field
from web_console.labels import label

OUTCOMES = (
    ("approved", "Approved"),
    ("approved_with_conditions", "Approved with conditions"),
    ("declined", "Declined"),
)
REDIRECT_REASONS = (
    ("cohort", label("cohort")),
    ("not_nhs_england_responsibility", label("not_nhs_england_responsibility")),
)
SCREEN_OUT_REASONS = (
    ("incomplete", label("incomplete")),
    ("cohort", label("cohort")),
    ("not_nhs_england_responsibility", label("not_nhs_england_responsibility")),
    ("no_prospect_of_exceptionality", label("no_prospect_of_exceptionality")),
)
REVIEW_OUTCOMES = (
    ("upheld", "Upheld: the process was followed, the decision stands"),
    ("flawed", "Flawed: the case goes back to an IFR panel"),
)

DECISION_FIELDS = (
    Field("outcome", "Decision", "radios", options=OUTCOMES),
    Field(
        "reasons.exceptionality",
        "Exceptionality",
        "textarea",
        hint="Is the patient significantly different from others with the condition at the same stage?",
    ),
    Field(
        "reasons.clinical_effectiveness", "Clinical effectiveness", "textarea", hint="For this patient, on the evidence"
    ),
    Field("reasons.value_for_money", "Value for money", "textarea", hint="The cost against the expected benefit"),
    Field(
        "conditions",
        "Conditions",
        "lines",
        hint="One condition a line: start and stop criteria, outcome reporting, a time limit",
        optional=True,
    ),
    Field(
        "approved_cost",
        "Approved cost",
        "money",
        hint="Leave empty to fund the application's total cost",
        optional=True,
        width="10",
    ),
)


@dataclass(frozen=True)
class ActionForm:
    action: str
    heading: str
    button: str
    fields: tuple[Field, ...] = ()
    lead: str | None = None
    needs_panel: bool = False  # the officer chooses a panel meeting (list-for-panel)
    needs_present: bool = False  # who attended: the case's current panel's members (quorum)
    warning: bool = False  # a button that ends or refuses something

    @property
    def simple(self) -> bool:
        """No questions: the case page offers it as a single button."""
        return not self.fields and not self.needs_panel and not self.needs_present


ACTION_FORMS: dict[str, ActionForm] = {
    form.action: form
    for form in (
        ActionForm(
            "submit",
            "Submit the application",
            "Submit",
            (
                Field(
                    "received_on",
                    "Date the application was received",
                    "date",
                    hint="For a paper or mail application that arrived earlier: the clocks start then",
                    optional=True,
                ),
            ),
        ),
        ActionForm("acknowledge", "Acknowledge receipt", "Acknowledge receipt"),
        ActionForm("screen", "Start screening", "Start screening", lead="The completeness check passed."),
        ActionForm(
            "request-information",
            "Ask the clinician for information",
            "Send the request",
            (
                Field("information_needed", "What is needed", "textarea", hint="The clinician sees this in the letter"),
                Field("respond_by", "Respond by", "date", optional=True),
            ),
            lead="The case's clocks pause until the information comes back.",
        ),
        ActionForm(
            "provide-information",
            "Send the information asked for",
            "Send the information",
            (Field("information", "The information", "textarea", hint="Attach letters or reports on the case page"),),
        ),
        ActionForm(
            "redirect",
            "Redirect the request",
            "Redirect",
            (
                Field("reason", "Why it is not an IFR", "radios", options=REDIRECT_REASONS),
                Field(
                    "redirected_to",
                    "Redirected to",
                    "text",
                    hint="For example, the ICB or the policy team",
                    optional=True,
                ),
                Field("detail", "More detail", "textarea", optional=True),
            ),
            warning=True,
        ),
        ActionForm(
            "redirect-service-development",
            "Redirect as a service development request",
            "Redirect as service development",
            (
                Field(
                    "detail",
                    "What to tell the clinician",
                    "textarea",
                    hint="Added to the letter, which already explains the cohort and how to show the patient differs",
                    optional=True,
                ),
            ),
            lead="Requests for this treatment from the region's trusts make a cohort: the request goes to the "
            "region's policy team as a service development, not to an IFR panel.",
            warning=True,
        ),
        ActionForm(
            "screen-out",
            "Screen out the request",
            "Screen out",
            (
                Field("reasons", "Reasons", "checkboxes", options=SCREEN_OUT_REASONS, hint="Select all that apply"),
                Field("detail", "More detail", "textarea", optional=True),
            ),
            lead="A screening outcome can be challenged only with new information.",
            warning=True,
        ),
        ActionForm("list-for-panel", "List the case for a panel", "List for this panel", needs_panel=True),
        ActionForm(
            "decide",
            "Record the panel's decision",
            "Record the decision",
            DECISION_FIELDS,
            needs_present=True,
        ),
        ActionForm(
            "chairs-action",
            "Record a chair's action",
            "Record the chair's action",
            (
                *DECISION_FIELDS,
                Field("urgent_reason", "Why the request could not wait for a quorate panel", "textarea"),
                Field(
                    "chair",
                    "The chair's user id",
                    hint="Only when a case officer records it for the chair; a chair records their own",
                    optional=True,
                    width="20",
                ),
            ),
            lead="Urgent requests only: the chair or deputy chair decides now, and a quorate panel ratifies it later.",
        ),
        ActionForm(
            "ratify",
            "Ratify the chair's action",
            "Ratify",
            (Field("note", "Note", "textarea", optional=True),),
            needs_present=True,
        ),
        ActionForm(
            "overturn",
            "Overturn the chair's action",
            "Record the panel's own decision",
            DECISION_FIELDS,
            lead="The panel's decision must differ from the chair's (outcome, conditions or cost).",
            needs_present=True,
            warning=True,
        ),
        ActionForm(
            "request-reconsideration",
            "Ask for reconsideration",
            "Ask for reconsideration",
            (Field("new_information", "The new clinical information", "textarea"),),
            lead="The same panel looks again when significant new clinical information arrives.",
        ),
        ActionForm(
            "request-review",
            "Ask for a review",
            "Ask for a review",
            (Field("grounds", "Grounds for the review", "textarea", hint="How the process was not followed"),),
            lead="A review panel checks the process, not the merits of the decision.",
        ),
        ActionForm(
            "decide-review",
            "Record the review panel's finding",
            "Record the finding",
            (
                Field("outcome", "Finding", "radios", options=REVIEW_OUTCOMES),
                Field("reasons", "Reasons", "textarea"),
            ),
            needs_present=True,
        ),
        ActionForm(
            "withdraw",
            "Withdraw the request",
            "Withdraw",
            (Field("reason", "Why it is withdrawn", "textarea"),),
            warning=True,
        ),
        ActionForm(
            "close", "Close the case", "Close the case", (Field("reason", "Reason", "textarea", optional=True),)
        ),
    )
}
