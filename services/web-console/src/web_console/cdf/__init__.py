"""The CDF screens: applying and the applications, the trust's clinician registrations, SACT uploads
and submissions, SACT completeness, treatments, the unapproved-use worklist and detections; for the
CDF team, the national list, approvals across trusts and the spend forecasts."""

from web_console.cdf.applications import router as applications_router
from web_console.cdf.approvals import router as approvals_router
from web_console.cdf.clinicians import router as clinicians_router
from web_console.cdf.completeness import router as completeness_router
from web_console.cdf.forecast import router as forecast_router
from web_console.cdf.national_list import router as national_list_router
from web_console.cdf.sact import router as sact_router
from web_console.cdf.treatments import router as treatments_router
from web_console.cdf.unapproved_use import router as unapproved_use_router

routers = [
    applications_router,
    clinicians_router,
    completeness_router,
    sact_router,
    treatments_router,
    unapproved_use_router,
    national_list_router,
    approvals_router,
    forecast_router,
]
