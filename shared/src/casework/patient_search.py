"""Finding a patient's records: by NHS number or by a record's reference, in a POST body.

A URL is written to access logs (the service's, a proxy's, a load balancer's), so no route takes an NHS
number in its query string (`casework.patient_data.identifier_in_query` refuses one with a 422); each
service that finds records for a patient offers `POST …/search` with this body instead.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from casework.auth import Principal
from casework.identifiers import NhsNumber
from casework.settings import ServiceSettings
from casework.uow import UnitOfWork

SEARCH_LIMIT = 100  # the newest this many records of the patient or reference in the caller's view


class PatientSearch(BaseModel):
    """Records by the patient's NHS number or by a record's reference (one of the two)."""

    # a service whose references have a known form adds an example with one (ifr-service's CaseSearchIn)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"nhs_number": "9990000018"}]})
    nhs_number: NhsNumber | None = None
    reference: str | None = Field(None, min_length=3, max_length=40)

    @model_validator(mode="after")
    def _one_of(self) -> PatientSearch:
        if (self.nhs_number is None) == (self.reference is None):
            raise ValueError("give an NHS number or a reference")
        return self

    @property
    def by(self) -> str:
        return "nhs_number" if self.nhs_number is not None else "reference"

    def audit(self, uow: UnitOfWork[ServiceSettings], principal: Principal, entity: str, ids: list[str]) -> None:
        """Record the search in the audit trail: what it searched by (never the number itself) and the
        records it read."""
        uow.audit(principal, "search", entity, self.by, detail={"by": self.by, "found": len(ids), "ids": ids})
