"""The IFR screens: worklist and search, the case and its actions, the application form, panels, cohort
alerts, the return, decision consistency."""

from web_console.ifr.application import router as application_router
from web_console.ifr.case import router as case_router
from web_console.ifr.cohorts import router as cohorts_router
from web_console.ifr.consistency import router as consistency_router
from web_console.ifr.panels import router as panels_router
from web_console.ifr.reports import router as reports_router
from web_console.ifr.worklist import router as worklist_router

# The worklist's `/ifr/requests.csv` and `/ifr/search` come before the case's `/ifr/requests/{id}`.
routers = [
    worklist_router,
    case_router,
    application_router,
    panels_router,
    cohorts_router,
    reports_router,
    consistency_router,
]
