"""The mail operations screens: notifications and their resend, the mail templates and their versions,
and the mail the inbound gateway accepted or refused."""

from web_console.mail.inbound import router as inbound_router
from web_console.mail.notifications import router as notifications_router
from web_console.mail.templates import router as templates_router

routers = [notifications_router, templates_router, inbound_router]
