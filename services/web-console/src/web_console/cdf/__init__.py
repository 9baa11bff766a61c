"""The CDF screens: applying and the applications, the trust's clinician registrations, SACT uploads
and submissions, SACT completeness, treatments, the unapproved-use worklist and detections."""

from web_console.cdf.applications import router as applications_router
from web_console.cdf.clinicians import router as clinicians_router
from web_console.cdf.completeness import router as completeness_router
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
]
