"""The CDF screens: the unapproved-use worklist and detections (the read-only records are in records.py)."""

from web_console.cdf.unapproved_use import router as unapproved_use_router

routers = [unapproved_use_router]
