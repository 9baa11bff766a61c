"""The IFR application form as question pages (the design system's pattern): one section a page.

Each page's fields are named by their path in ifr-service's application (`patient.nhs_number`), so
saving a page is a PATCH of the draft with those paths and the API's problems land at their fields.
The same declarations label the application on the case page and on the check-your-answers page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from web_console.form_fields import Field

SEXES = (("female", "Female"), ("male", "Male"), ("other", "Other"), ("not_known", "Not known"))
URGENCY = (("routine", "Routine"), ("urgent", "Urgent"))
PREVIOUS_TREATMENT_ROWS = 3


@dataclass(frozen=True)
class QuestionPage:
    slug: str
    title: str
    fields: tuple[Field, ...]
    lead: str | None = None
    summary: str | None = None  # its heading where others read the answers (the case page)

    @property
    def summary_title(self) -> str:
        return self.summary or self.title


def _previous_treatments() -> tuple[Field, ...]:
    rows: list[Field] = []
    for n in range(PREVIOUS_TREATMENT_ROWS):
        optional = n > 0
        rows.append(
            Field(f"clinical.previous_treatments.{n}.treatment", f"Previous treatment {n + 1}", optional=optional)
        )
        rows.append(
            Field(
                f"clinical.previous_treatments.{n}.outcome",
                f"Outcome of previous treatment {n + 1}",
                "textarea",
                optional=optional,
            )
        )
    return tuple(rows)


PAGES: tuple[QuestionPage, ...] = (
    QuestionPage(
        "patient",
        "About the patient",
        (
            Field("patient.nhs_number", "NHS number", hint="10 digits, for example 943 476 5919", width="10"),
            Field("patient.name", "Full name", autocomplete="off"),
            Field("patient.date_of_birth", "Date of birth", "date", hint="For example, 31 3 1980"),
            Field("patient.sex", "Sex", "radios", options=SEXES),
            Field("patient.gp_practice", "GP practice", hint="Name or ODS code of the patient's practice"),
        ),
    ),
    QuestionPage(
        "clinician",
        "About you, the requesting clinician",
        (
            Field("clinician.name", "Your name", autocomplete="name"),
            Field("clinician.role", "Your role", hint="For example, consultant oncologist"),
            Field("clinician.registration_number", "Registration number", hint="GMC, NMC or GPhC number", width="10"),
            Field("clinician.email", "Your nhs.net email address", "email", autocomplete="email"),
            Field("clinician.trust_ods", "Your trust's ODS code", hint="For example, RRV", width="5"),
        ),
        summary="The requesting clinician",
    ),
    QuestionPage(
        "treatment",
        "The treatment requested",
        (
            Field("treatment.name", "Treatment name"),
            Field(
                "treatment.dmd_code",
                "dm+d code",
                hint="For a drug: the dm+d (SNOMED CT) concept id",
                optional=True,
                width="20",
            ),
            Field(
                "treatment.opcs4_code",
                "OPCS-4 code",
                hint="For a procedure, for example X72.1",
                optional=True,
                width="10",
            ),
            Field("treatment.dose", "Dose", hint="Needed for a drug", optional=True),
            Field("treatment.route", "Route", hint="Needed for a drug, for example intravenous", optional=True),
            Field(
                "treatment.frequency", "Frequency", hint="Needed for a drug, for example every 3 weeks", optional=True
            ),
            Field("treatment.planned_duration", "Planned duration", hint="For example, 6 cycles"),
            Field("treatment.cost_per_course", "Cost per course", "money", width="10"),
            Field("treatment.total_cost", "Total cost", "money", width="10"),
            Field("treatment.setting", "Setting", hint="For example, day-case oncology unit"),
        ),
        lead="Give a dm+d code for a drug or an OPCS-4 code for a procedure.",
    ),
    QuestionPage(
        "clinical",
        "The patient's clinical picture",
        (
            Field("clinical.diagnosis", "Diagnosis"),
            Field("clinical.diagnosis_icd10", "ICD-10 code", hint="For example, C34.1", width="5"),
            Field("clinical.stage", "Stage", optional=True),
            Field("clinical.relevant_history", "Relevant history", "textarea"),
            Field("clinical.current_condition", "Current condition", "textarea"),
            *_previous_treatments(),
            Field(
                "clinical.standard_options_unsuitable", "Why standard options are exhausted or unsuitable", "textarea"
            ),
        ),
    ),
    QuestionPage(
        "case",
        "The case for funding",
        (
            Field(
                "case.exceptionality",
                "How the patient differs from others with the condition",
                "textarea",
                hint="Clinical circumstances only: social factors are not taken into account",
            ),
            Field("case.expected_benefit", "The additional benefit expected", "textarea"),
            Field("case.outcome_measures", "How the outcome will be measured", "textarea"),
            Field("case.start_criteria", "Start criteria", "textarea"),
            Field("case.stop_criteria", "Stop criteria", "textarea"),
            Field("case.evidence", "Evidence", "textarea", hint="References and trials"),
            Field(
                "case.other_patients_similar",
                "Are other patients likely to be in the same situation?",
                "yes_no",
                hint="If so, this is a question for the commissioning policy process, not an IFR",
            ),
        ),
    ),
    QuestionPage(
        "urgency",
        "Urgency, consent and support",
        (
            Field("urgency", "How urgent is the request?", "radios", options=URGENCY),
            Field(
                "urgency_reason",
                "The clinical reason it is urgent",
                "textarea",
                optional=True,
                hint="Needed when urgent",
            ),
            Field("part_of_trial", "Is the treatment part of a clinical trial?", "yes_no"),
            Field("patient_consent", "Has the patient consented to their information being shared?", "yes_no"),
            Field(
                "chief_pharmacist_support",
                "Does the trust's chief pharmacist or medicines committee support it?",
                "yes_no",
                hint="Needed for a drug",
                optional=True,
            ),
        ),
    ),
)
PAGE_BY_SLUG = {page.slug: page for page in PAGES}
ALL_FIELDS = tuple(f for page in PAGES for f in page.fields)


def page_of(field_path: str) -> QuestionPage | None:
    """The page that asks for a field (an API problem at `clinical.previous_treatments` is on clinical)."""
    for page in PAGES:
        if any(f.name == field_path or f.name.startswith(field_path + ".") for f in page.fields):
            return page
    return None


def answer_at(application: Mapping[str, Any], path: str) -> Any:
    """The value a form path names in an application (`clinical.previous_treatments.0.outcome`)."""
    value: Any = application
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def answers(application: Mapping[str, Any]) -> list[tuple[QuestionPage, list[tuple[Field, Any]]]]:
    """Each page's answered fields (an optional field left empty is not listed), for a summary list."""
    shown = []
    for page in PAGES:
        rows = [(f, answer_at(application, f.name)) for f in page.fields]
        shown.append((page, [(f, v) for f, v in rows if not (f.optional and v is None)]))
    return shown
