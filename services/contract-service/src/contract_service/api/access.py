"""Who may do what: provider users see their own organisation; commissioners (X24) see all."""

from __future__ import annotations

from fastapi import Depends

from casework.auth import Forbidden, Principal, Role, require_roles

PROVIDER_ROLES = (Role.TRUST_FINANCE, Role.TRUST_PHARMACIST, Role.PROVIDER_SYSTEM)
COMMISSIONER_ROLES = (Role.CONTRACT_MANAGER, Role.FINANCE_LEAD)
READERS = (*PROVIDER_ROLES, *COMMISSIONER_ROLES, Role.SERVICE)
# The forecast's readers, and those who record the decisions that commit money: the IFR panel (its
# chair records the decision; officers record for it), the CDF manager, and the trust's applicants for
# their own trust's lines (a CDF approval is made at once when they apply).
WHAT_IF_ROLES = (
    *READERS,
    Role.PANEL_MEMBER,
    Role.IFR_OFFICER,
    Role.CDF_MANAGER,
    Role.CLINICIAN,
    Role.TRUST_CDF_LEAD,
)


def _commissioner(principal: Principal = Depends(require_roles(*COMMISSIONER_ROLES))) -> Principal:
    """Contract changes and dispute settlement are for commissioner staff, not a provider holding the role."""
    if not principal.is_commissioner:
        raise Forbidden("only commissioner staff may do this")
    return principal


reader = Depends(require_roles(*READERS))
commissioner = Depends(_commissioner)
provider_user = Depends(require_roles(*PROVIDER_ROLES))
submitter = Depends(require_roles(*PROVIDER_ROLES, *COMMISSIONER_ROLES))
