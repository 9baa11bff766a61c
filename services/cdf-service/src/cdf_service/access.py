"""Who may do what in cdf-service: every role set its routes check, in one place.

A role set names the callers a route lets in (`require_roles(*SET)`); which of their records they see
is the organisation rule (`Principal.org_filter`, a trust its own), applied in the routes' queries.
Admins pass every role check.
"""

from __future__ import annotations

from casework.auth import Role

# the national CDF list: changed by the national CDF team
LIST_EDITOR_ROLES = (Role.CDF_MANAGER, Role.ADMIN)

# prior approvals: applied for by a registered consultant or the trust's system, withdrawn by them or
# the trust's CDF lead or the national team, read by those and the trust's pharmacists and analysts
APPLICANT_ROLES = (Role.CLINICIAN, Role.PROVIDER_SYSTEM)
WITHDRAW_ROLES = (*APPLICANT_ROLES, Role.TRUST_CDF_LEAD, Role.CDF_MANAGER)
APPLICATION_READER_ROLES = (*WITHDRAW_ROLES, Role.TRUST_PHARMACIST, Role.NATIONAL_ANALYST)

# registered clinicians
REGISTRAR_ROLES = (Role.CLINICIAN, Role.TRUST_CDF_LEAD, Role.PROVIDER_SYSTEM, Role.CDF_MANAGER)
CLINICIAN_READER_ROLES = (*REGISTRAR_ROLES, Role.TRUST_PHARMACIST)

# SACT submissions: sent by the trust's system, CDF lead or pharmacists
SACT_SUBMITTER_ROLES = (Role.PROVIDER_SYSTEM, Role.TRUST_CDF_LEAD, Role.TRUST_PHARMACIST)
SACT_READER_ROLES = (*SACT_SUBMITTER_ROLES, Role.CDF_MANAGER, Role.NATIONAL_ANALYST)

# unapproved use: the trust answers, the national team accepts or challenges
UNAPPROVED_USE_ANSWER_ROLES = (Role.TRUST_CDF_LEAD, Role.TRUST_PHARMACIST, Role.PROVIDER_SYSTEM)
UNAPPROVED_USE_DECIDE_ROLES = (Role.CDF_MANAGER,)
UNAPPROVED_USE_READER_ROLES = (*UNAPPROVED_USE_ANSWER_ROLES, *UNAPPROVED_USE_DECIDE_ROLES, Role.NATIONAL_ANALYST)
# commissioners who may see the NHS numbers of an unapproved use (role values, as tokens carry them)
NHS_NUMBER_READER_ROLES = frozenset({Role.CDF_MANAGER.value, Role.ADMIN.value})

# forecasts, their accuracy and the completeness report: commissioners' and trusts' finance and CDF staff
FORECAST_READER_ROLES = (
    Role.CDF_MANAGER,
    Role.FINANCE_LEAD,
    Role.CONTRACT_MANAGER,
    Role.NATIONAL_ANALYST,
    Role.TRUST_CDF_LEAD,
    Role.TRUST_FINANCE,
    Role.TRUST_PHARMACIST,
    Role.SERVICE,
)
