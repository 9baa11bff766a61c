"""NHS England's commissioning regions and which region a trust's requests belong to.

The seven regions by their ODS codes. Trusts are mapped to regions by configuration (the ifr-service
setting `TRUST_REGIONS`: ODS trust code -> region code), not by a lookup of the ODS directory: the
region that commissions a trust's specialised services is a commissioning fact, and the IFR team keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Region(StrEnum):
    """A commissioning region, by its ODS code."""

    LONDON = "Y56"
    SOUTH_WEST = "Y58"
    SOUTH_EAST = "Y59"
    MIDLANDS = "Y60"
    EAST_OF_ENGLAND = "Y61"
    NORTH_WEST = "Y62"
    NORTH_EAST_AND_YORKSHIRE = "Y63"


REGION_NAMES: Mapping[Region, str] = {
    Region.LONDON: "London",
    Region.SOUTH_WEST: "South West",
    Region.SOUTH_EAST: "South East",
    Region.MIDLANDS: "Midlands",
    Region.EAST_OF_ENGLAND: "East of England",
    Region.NORTH_WEST: "North West",
    Region.NORTH_EAST_AND_YORKSHIRE: "North East and Yorkshire",
}

# An NHS trust's ODS code is three characters; its sites' codes add two (RRV03 is a site of RRV).
TRUST_CODE_LENGTH = 3


def region_name(code: str) -> str:
    """The region's name ('London' for Y56); an unknown code is shown as it is."""
    try:
        return REGION_NAMES[Region(code)]
    except ValueError:
        return code


def region_of(provider_ods: str | None, mapping: Mapping[str, Region | str]) -> Region | None:
    """The region of the trust whose code (or one of whose sites' codes) is `provider_ods`, or None when
    there is no code or the mapping does not know the trust.

    The code is matched whole first (a site mapped on its own), then by its trust's three characters."""
    if not provider_ods:
        return None
    code = provider_ods.strip().upper()
    found = mapping.get(code)
    if found is None and len(code) > TRUST_CODE_LENGTH:
        found = mapping.get(code[:TRUST_CODE_LENGTH])
    return Region(found) if found is not None else None


def trusts_by_region(mapping: Mapping[str, Region | str]) -> dict[Region, list[str]]:
    """Every region with the trusts the mapping puts in it (sorted; a region with none has an empty list)."""
    grouped: dict[Region, list[str]] = {region: [] for region in Region}
    for trust, region in sorted(mapping.items()):
        grouped[Region(region)].append(trust)
    return grouped
