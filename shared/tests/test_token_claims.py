"""Claim mapping: the provider's claims -> the platform's org and roles (pure)."""

import pytest

from casework.token_claims import ClaimMapping, ClaimsRefused

# Shaped as NHS CIS2 Authentication returns national RBAC (nationalrbacaccess + selectedrole scopes).
CIS2_CLAIMS = {
    "sub": "910000000001",
    "nhsid_nrbac_roles": [
        {"person_roleid": "555021935107", "org_code": "RRV", "role_code": "S8000:G8000:R8000", "role_name": "GP"},
        {"person_roleid": "555021935108", "org_code": "RJ1", "role_code": "S8000:G8000:R8001", "role_name": "Nurse"},
    ],
    "selected_roleid": "555021935108",
}
CIS2 = ClaimMapping(
    style="cis2", role_map={"S8000:G8000:R8000": ["clinician"], "S8000:G8000:R8001": ["clinician", "trust_pharmacist"]}
)


def test_cis2_uses_the_selected_role_only() -> None:
    assert CIS2.org_and_roles(CIS2_CLAIMS) == ("RJ1", frozenset({"clinician", "trust_pharmacist"}))
    first = {**CIS2_CLAIMS, "selected_roleid": "555021935107"}
    assert CIS2.org_and_roles(first) == ("RRV", frozenset({"clinician"}))


def test_a_role_code_the_map_does_not_name_grants_nothing() -> None:
    unknown = {**CIS2_CLAIMS, "nhsid_nrbac_roles": [{**CIS2_CLAIMS["nhsid_nrbac_roles"][1], "role_code": "R9999"}]}
    assert CIS2.org_and_roles(unknown) == ("RJ1", frozenset())


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u"},
        {**CIS2_CLAIMS, "selected_roleid": "not-held"},
        {**CIS2_CLAIMS, "nhsid_nrbac_roles": "R8000"},
        {**CIS2_CLAIMS, "nhsid_nrbac_roles": [{"person_roleid": "555021935108", "org_code": ""}]},
    ],
)
def test_cis2_without_a_usable_selected_role_is_refused(claims: dict) -> None:
    with pytest.raises(ClaimsRefused):
        CIS2.org_and_roles(claims)


def test_flat_claims_with_configured_names_and_an_optional_map() -> None:
    claims = {"sub": "u", "ods": "rrv", "groups": ["casework-ifr", "other"]}
    assert ClaimMapping(org_claim="ods", roles_claim="groups").org_and_roles(claims) == (
        "RRV",
        frozenset({"casework-ifr", "other"}),
    )
    mapped = ClaimMapping(org_claim="ods", roles_claim="groups", role_map={"casework-ifr": ["ifr_officer"]})
    assert mapped.org_and_roles(claims) == ("RRV", frozenset({"ifr_officer"}))
    with pytest.raises(ClaimsRefused, match="ods"):
        mapped.org_and_roles({"sub": "u", "groups": []})
