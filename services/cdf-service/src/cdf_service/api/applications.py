"""Prior-approval applications (minimal: the wiring proof; the full rules arrive with the CDF issue)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, EmailStr, Field

from casework.auth import Principal, Role, ensure_visible, require_roles
from casework.deps import Runtime, Uow
from casework.identifiers import NhsNumber, OdsCode, SnomedId, patient_ref
from casework.problems import NotFound
from cdf_service.db.models import Application

router = APIRouter(prefix="/cdf/applications", tags=["applications"])

APPLICANT_ROLES = (Role.CLINICIAN, Role.PROVIDER_SYSTEM)
READER_ROLES = (*APPLICANT_ROLES, Role.TRUST_CDF_LEAD, Role.TRUST_PHARMACIST, Role.CDF_MANAGER)


class ApplicationIn(BaseModel):
    nhs_number: NhsNumber
    provider_ods: OdsCode
    entry_id: str = Field(min_length=1, max_length=40)
    dmd_id: SnomedId
    drug_name: str = Field(min_length=1, max_length=200)
    indication: str = Field(min_length=1, max_length=500)
    clinician_gmc: str = Field(pattern=r"^\d{7}$")
    clinician_email: EmailStr
    planned_start: date
    expected_cost: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class ApplicationOut(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    provider_ods: str
    entry_id: str
    drug_name: str
    planned_start: date
    lapse_due: date
    version: int


def _out(app: Application) -> ApplicationOut:
    return ApplicationOut.model_validate(app, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut)
async def apply(
    body: ApplicationIn,
    uow: Uow,
    runtime: Runtime,
    principal: Principal = Depends(require_roles(*APPLICANT_ROLES)),
) -> ApplicationOut:
    ensure_visible(principal, body.provider_ods, "provider", body.provider_ods)
    ref = patient_ref(body.nhs_number, runtime.settings.patient_ref_key.get_secret_value())
    app = Application(
        id=uuid.uuid4(),
        reference=f"CDF-{uuid.uuid4().hex[:10].upper()}",
        patient_ref=ref,
        lapse_due=body.planned_start + timedelta(days=28),
        status="approved",
        version=1,
        created_by=principal.sub,
        **body.model_dump(exclude={"clinician_email"}),
        clinician_email=str(body.clinician_email),
    )
    uow.session.add(app)
    await uow.session.flush()
    uow.emit(
        "cdf.application.approved",
        subject=str(app.id),
        payload={
            "application_id": app.id,
            "reference": app.reference,
            "provider_ods": app.provider_ods,
            "entry_id": app.entry_id,
            "dmd_id": app.dmd_id,
            "patient_ref": ref,
            "entry_version": 1,
            "drug_name": app.drug_name,
            "indication": app.indication,
            "clinician_gmc": app.clinician_gmc,
            "clinician_email": app.clinician_email,
            "planned_start": app.planned_start,
            "lapse_due": app.lapse_due,
            "approved_at": datetime.now(UTC),
            "expected_cost": app.expected_cost,
        },
    )
    uow.audit(principal, "create", "cdf_application", app.id)
    await uow.commit()
    return _out(app)


@router.get("/{application_id}", response_model=ApplicationOut)
async def read(
    application_id: uuid.UUID, uow: Uow, principal: Principal = Depends(require_roles(*READER_ROLES))
) -> ApplicationOut:
    app = await uow.session.get(Application, application_id)
    if app is None:
        raise NotFound(f"application {application_id} not found")
    ensure_visible(principal, app.provider_ods, "application", application_id)
    uow.audit(principal, "read", "cdf_application", app.id)
    await uow.commit()
    return _out(app)
