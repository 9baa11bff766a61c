"""Who may do what in notification-service: every role set its routes check, in one place.

Which notifications a caller sees is the organisation rule on top (a trust user its own organisation's);
admins pass every role check.
"""

from __future__ import annotations

from casework.auth import Role

# Commissioner staff who follow correspondence; provider (trust) users see their own organisation's.
STAFF_ROLES = (
    Role.IFR_OFFICER,
    Role.PANEL_MEMBER,
    Role.CDF_MANAGER,
    Role.CONTRACT_MANAGER,
    Role.FINANCE_LEAD,
    Role.NATIONAL_ANALYST,
    Role.MAIL_OPERATOR,
    Role.SERVICE,
)
PROVIDER_ROLES = (Role.CLINICIAN, Role.TRUST_CDF_LEAD, Role.TRUST_PHARMACIST, Role.TRUST_FINANCE)
# Who may put a failed notification back in the queue (case owners and the mail operations officers
# who watch delivery; admins pass every check).
RESEND_ROLES = (Role.IFR_OFFICER, Role.CDF_MANAGER, Role.CONTRACT_MANAGER, Role.FINANCE_LEAD, Role.MAIL_OPERATOR)
# Who may store a new template version: the mail operations officers (and admins).
TEMPLATE_EDITORS = (Role.MAIL_OPERATOR,)
# Received mail to the national mailboxes: the case teams, the mail operations officers, and ifr-service
# (its mail intake fetches a message's attachments); commissioners only (anyone else is told none exists).
INBOUND_MAIL_READER_ROLES = (Role.SERVICE, Role.IFR_OFFICER, Role.MAIL_OPERATOR)
