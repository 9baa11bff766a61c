"""The CDF screens: applying and the applications, SACT uploads and submissions, the unapproved-use
worklist and detections."""

from web_console.cdf.applications import router as applications_router
from web_console.cdf.sact import router as sact_router
from web_console.cdf.unapproved_use import router as unapproved_use_router

routers = [applications_router, sact_router, unapproved_use_router]
