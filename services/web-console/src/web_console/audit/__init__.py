"""The information-governance audit: who read or changed one patient's records across the four services,
and what one user looked at, as one timeline each, with CSV."""

from web_console.audit.trail import router as trail_router

routers = [trail_router]
