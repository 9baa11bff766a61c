"""NHS England's commissioning regions and the trusts the configuration puts in each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from casework.auth import Principal, require_roles
from ifr_service.access import READER_ROLES
from ifr_service.domain.regions import REGION_NAMES, trusts_by_region
from ifr_service.runtime import Runtime

router = APIRouter(prefix="/ifr/regions", tags=["regions"])


class RegionOut(BaseModel):
    code: str
    name: str
    trusts: list[str]


@router.get("", response_model=list[RegionOut])
async def list_regions(
    runtime: Runtime, principal: Annotated[Principal, Depends(require_roles(*READER_ROLES))]
) -> list[RegionOut]:
    """The seven regions by ODS code, each with the trusts mapped to it (`TRUST_REGIONS`)."""
    grouped = trusts_by_region(runtime.settings.trust_regions)
    return [RegionOut(code=region, name=REGION_NAMES[region], trusts=trusts) for region, trusts in grouped.items()]
