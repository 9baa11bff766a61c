"""The finance screens: a provider's forecast outturn against budget (lines, the monthly series as a
chart and a table, the at-risk alerts) and the national summary across providers, each with its CSV."""

from web_console.finance.national import router as national_router
from web_console.finance.outturn import router as outturn_router

routers = [national_router, outturn_router]
