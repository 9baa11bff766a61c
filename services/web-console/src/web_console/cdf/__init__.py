"""The CDF screens: applying and the applications, the unapproved-use worklist and detections (the
read-only records are in records.py)."""

from web_console.cdf.applications import router as applications_router
from web_console.cdf.unapproved_use import router as unapproved_use_router

routers = [applications_router, unapproved_use_router]
