"""Which commissioning region a trust's requests belong to (domain.regions)."""

from ifr_service.domain.regions import REGION_NAMES, Region, region_name, region_of, trusts_by_region
from ifr_service.settings import DEFAULT_TRUST_REGIONS

MAPPING = {"RRV": Region.LONDON, "RGT": Region.EAST_OF_ENGLAND, "RRK01": Region.MIDLANDS, "RBV": "Y62"}


def test_the_seven_regions_by_ods_code() -> None:
    assert {r.value: REGION_NAMES[r] for r in Region} == {
        "Y56": "London",
        "Y58": "South West",
        "Y59": "South East",
        "Y60": "Midlands",
        "Y61": "East of England",
        "Y62": "North West",
        "Y63": "North East and Yorkshire",
    }
    assert region_name("Y63") == "North East and Yorkshire" and region_name("Y99") == "Y99"


def test_region_of_a_trust_and_of_its_sites() -> None:
    assert region_of("RRV", MAPPING) is Region.LONDON
    assert region_of("rgt", MAPPING) is Region.EAST_OF_ENGLAND  # codes are matched as ODS writes them
    assert region_of(" RRV03 ", MAPPING) is Region.LONDON  # a site of RRV: its trust's region
    assert region_of("RRK01", MAPPING) is Region.MIDLANDS  # a site mapped on its own
    assert region_of("RBV", MAPPING) is Region.NORTH_WEST  # a code from configuration becomes a Region


def test_no_region_without_a_code_or_for_a_trust_the_mapping_does_not_know() -> None:
    assert region_of(None, MAPPING) is None
    assert region_of("", MAPPING) is None
    assert region_of("RJ1", MAPPING) is None
    assert region_of("RRK", MAPPING) is None  # only its site RRK01 is mapped
    assert region_of("RRV", {}) is None


def test_the_default_mapping_covers_the_dev_trusts_in_more_than_one_region() -> None:
    dev_trusts = {"RRV", "RJ1", "RGT", "RTH", "RM1", "RWE", "RBV", "RPY", "RHQ", "RRK"}
    assert dev_trusts <= set(DEFAULT_TRUST_REGIONS)
    assert region_of("RRV", DEFAULT_TRUST_REGIONS) is Region.LONDON
    assert region_of("RGT", DEFAULT_TRUST_REGIONS) is Region.EAST_OF_ENGLAND
    grouped = trusts_by_region(DEFAULT_TRUST_REGIONS)
    assert list(grouped) == list(Region)
    assert sorted(t for trusts in grouped.values() for t in trusts) == sorted(DEFAULT_TRUST_REGIONS)
    assert len([r for r, trusts in grouped.items() if trusts]) >= 2
