"""The IFR application form, its formats, and what a complete application must hold.

A draft may hold any subset of the form, but every value it holds must be well formed (an NHS number
passes Modulus 11, a dm+d code its Verhoeff check ...). Submission then requires completeness:
`missing_for_submission` names every missing field and every cross-field rule broken, by its path
(`patient.nhs_number`), so a provider system can fix all of them in one round.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, ValidationError, field_validator

from casework import clock
from casework.identifiers import Icd10Code, NhsNumber, OdsCode, Opcs4Code, SnomedId

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
# GMC numbers are 7 digits; NMC, GPhC and HCPC registrations mix letters and digits.
RegistrationNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{4,12}$")]


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    NOT_KNOWN = "not_known"


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Patient(Section):
    nhs_number: NhsNumber | None = None
    name: Text | None = None
    date_of_birth: date | None = None
    sex: Sex | None = None
    gp_practice: Text | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > clock.today():
            raise ValueError("date of birth is in the future")
        return value


class Clinician(Section):
    name: Text | None = None
    role: Text | None = None
    registration_number: RegistrationNumber | None = None
    email: EmailStr | None = None
    trust_ods: OdsCode | None = None


class Treatment(Section):
    name: Text | None = None
    dmd_code: SnomedId | None = None
    opcs4_code: Opcs4Code | None = None
    dose: Text | None = None
    route: Text | None = None
    frequency: Text | None = None
    planned_duration: Text | None = None
    cost_per_course: Money | None = None
    total_cost: Money | None = None
    setting: Text | None = None


class PreviousTreatment(Section):
    treatment: Text
    outcome: LongText


class Clinical(Section):
    diagnosis: Text | None = None
    diagnosis_icd10: Icd10Code | None = None
    stage: Text | None = None
    relevant_history: LongText | None = None
    current_condition: LongText | None = None
    previous_treatments: list[PreviousTreatment] | None = None
    standard_options_unsuitable: LongText | None = None


class CaseForFunding(Section):
    """The case for exceptionality, the expected benefit and how it is measured."""

    exceptionality: LongText | None = None
    expected_benefit: LongText | None = None
    outcome_measures: LongText | None = None
    start_criteria: LongText | None = None
    stop_criteria: LongText | None = None
    evidence: LongText | None = None
    other_patients_similar: bool | None = None  # the cohort question


class Application(Section):
    patient: Patient = Field(default_factory=Patient)
    clinician: Clinician = Field(default_factory=Clinician)
    treatment: Treatment = Field(default_factory=Treatment)
    clinical: Clinical = Field(default_factory=Clinical)
    case: CaseForFunding = Field(default_factory=CaseForFunding)
    urgency: Urgency | None = None
    urgency_reason: LongText | None = None
    part_of_trial: bool | None = None
    patient_consent: bool | None = None
    chief_pharmacist_support: bool | None = None

    @property
    def urgent(self) -> bool:
        return self.urgency == Urgency.URGENT


REQUIRED: tuple[str, ...] = (
    "patient.nhs_number",
    "patient.name",
    "patient.date_of_birth",
    "patient.sex",
    "patient.gp_practice",
    "clinician.name",
    "clinician.role",
    "clinician.registration_number",
    "clinician.email",
    "clinician.trust_ods",
    "treatment.name",
    "treatment.planned_duration",
    "treatment.cost_per_course",
    "treatment.total_cost",
    "treatment.setting",
    "clinical.diagnosis",
    "clinical.diagnosis_icd10",
    "clinical.relevant_history",
    "clinical.current_condition",
    "clinical.previous_treatments",
    "clinical.standard_options_unsuitable",
    "case.exceptionality",
    "case.expected_benefit",
    "case.outcome_measures",
    "case.start_criteria",
    "case.stop_criteria",
    "case.evidence",
    "case.other_patients_similar",
    "urgency",
    "part_of_trial",
    "patient_consent",
)
# A drug (dm+d code) needs its dose, route and frequency and the chief pharmacist's answer.
REQUIRED_FOR_DRUGS: tuple[str, ...] = (
    "treatment.dose",
    "treatment.route",
    "treatment.frequency",
    "chief_pharmacist_support",
)


def value_at(application: Application, path: str) -> Any:
    value: Any = application
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _email_domain_allowed(email: str, domains: tuple[str, ...]) -> bool:
    host = email.rsplit("@", 1)[-1].lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def missing_for_submission(
    application: Application, secure_domains: tuple[str, ...] = ("nhs.net",)
) -> list[dict[str, str]]:
    """Every problem that stops this application being submitted, as `{field, message}`."""
    problems = [{"field": p, "message": "is required"} for p in REQUIRED if value_at(application, p) is None]
    t = application.treatment
    if t.dmd_code is None and t.opcs4_code is None:
        problems.append({"field": "treatment.dmd_code", "message": "a dm+d code (drug) or OPCS-4 code is required"})
    if t.dmd_code is not None:
        problems += [
            {"field": p, "message": "is required for a drug"}
            for p in REQUIRED_FOR_DRUGS
            if value_at(application, p) is None
        ]
    if t.cost_per_course is not None and t.total_cost is not None and t.total_cost < t.cost_per_course:
        problems.append({"field": "treatment.total_cost", "message": "is less than the cost per course"})
    if application.urgent and application.urgency_reason is None:
        problems.append({"field": "urgency_reason", "message": "is required when the request is urgent"})
    if application.patient_consent is False:
        problems.append({"field": "patient_consent", "message": "the patient must consent to sharing information"})
    email = application.clinician.email
    if email is not None and not _email_domain_allowed(str(email), secure_domains):
        problems.append(
            {"field": "clinician.email", "message": f"must be on a secure domain ({', '.join(secure_domains)})"}
        )
    return problems


def merge(current: Application, changes: dict[str, Any]) -> Application:
    """A draft updated with the sections and fields given (fields not given are kept)."""
    merged = current.model_dump(mode="json")
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return Application.model_validate(merged)


# -- applications that arrived by mail --------------------------------------------------------------

# The mail gateway's flat field keys (notification-service README "Application in a mail") -> form paths.
MAIL_FIELDS: dict[str, str] = {
    "nhs_number": "patient.nhs_number",
    "patient_name": "patient.name",
    "date_of_birth": "patient.date_of_birth",
    "sex": "patient.sex",
    "gp_practice": "patient.gp_practice",
    "clinician_name": "clinician.name",
    "clinician_role": "clinician.role",
    "registration_number": "clinician.registration_number",
    "clinician_email": "clinician.email",
    "trust_ods_code": "clinician.trust_ods",
    "treatment_name": "treatment.name",
    "dmd_code": "treatment.dmd_code",
    "opcs4_code": "treatment.opcs4_code",
    "dose": "treatment.dose",
    "route": "treatment.route",
    "frequency": "treatment.frequency",
    "planned_duration": "treatment.planned_duration",
    "setting": "treatment.setting",
    "cost_per_course": "treatment.cost_per_course",
    "total_cost": "treatment.total_cost",
    "diagnosis": "clinical.diagnosis",
    "diagnosis_icd10": "clinical.diagnosis_icd10",
    "stage": "clinical.stage",
    "relevant_history": "clinical.relevant_history",
    "current_condition": "clinical.current_condition",
    "previous_treatments": "clinical.previous_treatments",
    "standard_options_unsuitable": "clinical.standard_options_unsuitable",
    "case_for_exceptionality": "case.exceptionality",
    "expected_benefit": "case.expected_benefit",
    "outcome_measures": "case.outcome_measures",
    "start_criteria": "case.start_criteria",
    "stop_criteria": "case.stop_criteria",
    "evidence": "case.evidence",
    "other_patients_similar": "case.other_patients_similar",
    "urgency": "urgency",
    "urgency_reason": "urgency_reason",
    "part_of_trial": "part_of_trial",
    "patient_consent": "patient_consent",
    "chief_pharmacist_support": "chief_pharmacist_support",
}
_YES, _NO = {"yes", "y", "true"}, {"no", "n", "false"}
_SEX = {"f": "female", "m": "male", "female": "female", "male": "male", "other": "other"}


def _mail_value(path: str, raw: str) -> Any:
    text = raw.strip()
    if path.endswith(("_consent", "_support", "part_of_trial", "other_patients_similar")):
        low = text.lower()
        return True if low in _YES else False if low in _NO else text
    if path == "patient.sex":
        return _SEX.get(text.lower(), "not_known" if text.lower() in {"not known", "unknown"} else text)
    if path == "urgency":
        return text.lower()
    if path.endswith(("cost_per_course", "total_cost")):
        return text.replace("£", "").replace(",", "").strip()
    if path == "patient.date_of_birth":
        return _date_text(text)
    if path == "clinical.previous_treatments":
        # free text in a mail: kept as one entry for the case officer to split up
        return [{"treatment": "as described in the mail", "outcome": text}]
    return text


def _date_text(text: str) -> str:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()  # noqa: DTZ007 - a calendar date, no instant
        except ValueError:
            continue
    return text


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        head, _, tail = path.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = value
        else:
            out[head] = value
    return out


def from_mail(fields: dict[str, str]) -> tuple[Application, list[str]]:
    """A draft application from a mail's fields: well-formed values are kept, the rest listed as
    problems (`field: problem`, never quoting the value) for the case officer."""
    good: dict[str, Any] = {}
    problems: list[str] = []
    for key, raw in fields.items():
        path = MAIL_FIELDS.get(key)
        if path is None or not str(raw).strip():
            continue
        value = _mail_value(path, str(raw))
        try:
            Application.model_validate(_nested({path: value}))
        except ValidationError as exc:
            problems.append(f"{path}: {exc.errors()[0]['msg']}")
            continue
        good[path] = value
    return Application.model_validate(_nested(good)), problems
